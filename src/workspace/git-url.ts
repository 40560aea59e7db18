/** Git remote URLs as baton stores and shows them: never with the credentials a user put in them. */

const USER_INFO = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@]*@/;

/** A password or token in the URL's user part: `scheme://user:secret@…`, or any user part of an https URL. */
export function hasCredentials(url: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/.test(url) || /^https?:\/\/[^/@]+@/i.test(url);
}

/** The URL without its credentials; a plain user name such as ssh://git@host stays. */
export function withoutCredentials(url: string): string {
  return hasCredentials(url) ? url.replace(USER_INFO, '$1') : url;
}
