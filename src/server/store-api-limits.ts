/** The store API's size limits (routes/store-api.ts), shared with its client (src/cli/remote-store.ts). */

/** Largest workspace snapshot (blob bytes, before base64) that travels to the server; a larger one is recorded `too-large`. */
export const STORE_API_MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024;
/** Largest store-API request body: a snapshot at the limit, base64-encoded (×4/3), with room for its manifest. */
export const STORE_API_MAX_BODY_BYTES = 96 * 1024 * 1024;
