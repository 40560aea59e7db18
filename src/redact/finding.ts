/** A secret found in a text: [start, end) in UTF-16 code units, and what it is redacted as. */
export interface Finding {
  start: number;
  end: number;
  label: string;
}
