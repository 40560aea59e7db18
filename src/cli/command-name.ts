/**
 * The subcommand a `baton` command line names, read before commander parses it, so that main.ts loads only that
 * command's modules: the first argument that is neither a global option nor a global option's value. Anything it
 * cannot read with certainty (an unknown option before the command) is undefined, and every command is loaded.
 */

/** The global options that take a value (main.ts), as `--store X` or `--store=X`. */
const GLOBAL_OPTIONS_WITH_VALUE = ['--config', '--store', '--master-key-file'];

export function commandNamed(args: readonly string[]): string | undefined {
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (GLOBAL_OPTIONS_WITH_VALUE.includes(arg)) {
      index++;
      continue;
    }
    if (GLOBAL_OPTIONS_WITH_VALUE.some((option) => arg.startsWith(`${option}=`))) continue;
    if (arg.startsWith('-')) return undefined;
    return arg;
  }
  return undefined;
}
