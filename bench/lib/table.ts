/** The rows of a benchmark's table: a figure, what was measured, the target, and pass / FAIL / info. */
export type Verdict = 'pass' | 'FAIL' | 'info';

export interface Row {
  figure: string;
  measured: string;
  target: string;
  /** '' for a section title. */
  result: Verdict | '';
}

export interface Table {
  rows: Row[];
  /** A figure; with `pass`, judged against `target` (pass / FAIL), else reported (info). */
  row(figure: string, measured: string, target?: string, pass?: boolean): void;
  section(title: string): void;
}

export function createTable(): Table {
  const rows: Row[] = [];
  return {
    rows,
    row: (figure, measured, target = '', pass) => void rows.push({ figure, measured, target, result: pass === undefined ? 'info' : pass ? 'pass' : 'FAIL' }),
    section: (title) => void rows.push({ figure: title, measured: '', target: '', result: '' }),
  };
}
