/** Sortable, URL-safe ids for baton's own objects (ULID-style: 48-bit milliseconds + 80 random bits). */
import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

function ulid(now = Date.now()): string {
  let time = '';
  let remaining = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[remaining % 32] + time;
    remaining = Math.floor(remaining / 32);
  }
  const random = randomBytes(16);
  let tail = '';
  for (let i = 0; i < 16; i++) tail += CROCKFORD[random[i]! % 32];
  return time + tail;
}

export const newConversationId = (): string => `c_${ulid()}`;
export const newRunId = (): string => `r_${ulid()}`;

export const CONVERSATION_ID_PATTERN = /^c_[0-9a-z]{26}$/;
export const RUN_ID_PATTERN = /^r_[0-9a-z]{26}$/;
