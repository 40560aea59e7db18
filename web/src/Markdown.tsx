/**
 * An assistant's reply as Markdown: parsed by marked, sanitised (a transcript is untrusted input: see sanitize.ts),
 * code blocks highlighted by highlight.js, all bundled (no CDN).
 */
import hljs from 'highlight.js/lib/common';
import 'highlight.js/styles/github-dark.css';
import { marked } from 'marked';
import { memo, useEffect, useMemo, useRef } from 'react';
import { sanitizeTranscriptHtml } from './sanitize';

export const Markdown = memo(function Markdown({ text }: { text: string }) {
  const html = useMemo(() => sanitizeTranscriptHtml(marked.parse(text, { async: false, gfm: true, breaks: false }) as string), [text]);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    for (const block of ref.current?.querySelectorAll<HTMLElement>('pre code') ?? []) {
      if (!block.dataset.highlighted) hljs.highlightElement(block);
    }
  }, [html]);
  return <div ref={ref} className="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
});
