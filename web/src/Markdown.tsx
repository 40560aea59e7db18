/**
 * An assistant's reply as Markdown: parsed by marked, sanitised by DOMPurify (a transcript is untrusted input),
 * code blocks highlighted by highlight.js, all bundled (no CDN).
 */
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/common';
import 'highlight.js/styles/github-dark.css';
import { marked } from 'marked';
import { memo, useEffect, useMemo, useRef } from 'react';

/** Beyond DOMPurify's defaults: nothing a reader could fill in or press, no styles, no frames. */
const SANITIZE = {
  FORBID_TAGS: ['form', 'input', 'button', 'textarea', 'select', 'option', 'style', 'iframe', 'frame', 'object', 'embed'],
  FORBID_ATTR: ['style', 'formaction', 'action'],
};

export const Markdown = memo(function Markdown({ text }: { text: string }) {
  const html = useMemo(() => DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true, breaks: false }) as string, SANITIZE), [text]);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    for (const block of ref.current?.querySelectorAll<HTMLElement>('pre code') ?? []) {
      if (!block.dataset.highlighted) hljs.highlightElement(block);
    }
  }, [html]);
  return <div ref={ref} className="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
});
