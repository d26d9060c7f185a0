/** Input limits shared by the process edge and the decoder (kept import-free for VERSION). */
export const MAX_INPUT_BYTES = 1024 * 1024;
export const MAX_INPUT_BYTES_PLUS_ONE = MAX_INPUT_BYTES + 1;
export const MAX_JSON_DEPTH = 64;
