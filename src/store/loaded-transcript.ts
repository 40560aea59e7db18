/**
 * A transcript already loaded whole (a server's answer, a local copy saved just now) as an OpenedTranscript, so
 * that a resume reads every store the same way.
 */
import { memoryFileReader } from '../transcript/file-reader.js';
import type { OpenedTranscript, StoredFileReader, StoredTranscript, StoredTranscriptFile } from './store.js';

export function loadedFileReader(file: StoredTranscriptFile, where: string): StoredFileReader {
  const known = file.verifiedHash?.of === file.content ? file.verifiedHash.state : undefined;
  const reader = memoryFileReader(file, where, known);
  return {
    key: reader.key,
    byteLength: reader.byteLength,
    lineCount: reader.lineCount,
    whole: async () => {
      await reader.whole();
      return file;
    },
    stream: async (each, options) => ({ ...(await reader.stream(each, options)), cursor: file.cursor }),
    verified: async () => ({ ...(await reader.verified()), cursor: file.cursor }),
  };
}

export function openedFromLoaded(stored: StoredTranscript): OpenedTranscript {
  return { conversationId: stored.conversationId, meta: stored.meta, files: stored.files.map((file) => loadedFileReader(file, `conversation ${stored.conversationId}`)) };
}
