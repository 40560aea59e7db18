/**
 * HTML from a transcript (an agent's Markdown reply, rendered by marked) made safe to put in the page. A transcript
 * is hostile input: a compromised agent writes it. DOMPurify removes what could run (scripts, handlers,
 * `javascript:` and `data:` links); on top of its defaults:
 *
 * - nothing a reader could fill in or press (forms, inputs, buttons, media players), no styles, no frames or
 *   plugins;
 * - nothing that reaches another origin. A link elsewhere keeps its text and shows where it points, but is no
 *   longer a link: one click on it would carry whatever the agent put in the URL (a secret it read, say) to a
 *   host of its choosing, and an agent in a sandbox may have no other way out. An image from elsewhere is not
 *   loaded (the CSP would refuse it too); its alt text and address are shown instead.
 */
import DOMPurify from 'dompurify';

const SANITIZE = {
  FORBID_TAGS: ['form', 'input', 'button', 'textarea', 'select', 'option', 'style', 'iframe', 'frame', 'object', 'embed', 'video', 'audio', 'source', 'track'],
  FORBID_ATTR: ['style', 'formaction', 'action', 'srcset', 'ping', 'poster', 'background'],
};

/** Attributes whose value is a URL the browser follows or fetches. */
const URL_ATTRIBUTES = ['href', 'xlink:href', 'src'] as const;

/** Whether the browser would go to this origin for `value`: `data:` images stay in the page; nothing else may leave. */
function staysHere(value: string, element: Element, attribute: string): boolean {
  let url: URL;
  try {
    url = new URL(value, window.location.href);
  } catch {
    return false;
  }
  if (url.protocol === 'data:') return attribute === 'src' && element.localName === 'img';
  return url.origin === window.location.origin;
}

function isLink(element: Element): boolean {
  return element.localName === 'a' || element.localName === 'area';
}

/** A link elsewhere: its text stays, its destination is shown after it, nothing to click. */
function disarmLink(element: Element, destination: string): void {
  element.classList.add('outside-link');
  element.setAttribute('title', `Links to other sites are not followed from a transcript: ${destination}`);
  if ((element.textContent ?? '').trim() !== destination) element.append(element.ownerDocument.createTextNode(` (${destination})`));
}

/** An image from elsewhere: its alt text and address instead. */
function disarmImage(element: Element, source: string): void {
  const note = element.ownerDocument.createElement('span');
  note.className = 'outside-image';
  const alt = element.getAttribute('alt');
  note.textContent = `[image${alt ? `: ${alt}` : ''} — not loaded from ${source}]`;
  element.replaceWith(note);
}

// An instance of its own, so the hook applies to transcripts only.
const purifier = DOMPurify(window);
purifier.addHook('afterSanitizeAttributes', (node) => {
  if (!(node instanceof Element)) return;
  for (const attribute of URL_ATTRIBUTES) {
    const value = node.getAttribute(attribute);
    if (value === null || staysHere(value, node, attribute)) continue;
    node.removeAttribute(attribute);
    if (attribute !== 'src' && isLink(node)) disarmLink(node, value);
    else if (attribute === 'src' && node.localName === 'img') return disarmImage(node, value);
  }
});

export function sanitizeTranscriptHtml(html: string): string {
  return purifier.sanitize(html, SANITIZE);
}
