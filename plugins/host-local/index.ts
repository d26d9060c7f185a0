/**
 * host-local's public surface: the plugin object (what the bridge plugin runs in-process with
 * the same store and semantics as the executable) and the building blocks it is made of, for
 * callers that allocate without a CNI invocation. Nothing here runs on import.
 */
export { type Allocation, allocate, candidates, type ReservationStore } from './allocator.ts';
export { DEFAULT_DATA_DIR, type HostLocalConfig, parseHostLocalConfig } from './config.ts';
export { hostLocalPlugin } from './plugin.ts';
export {
  canonicalizeRange,
  canonicalizeRangeSet,
  type Range,
  type RangeInput,
  type RangeSet,
  rangeContains,
  rangeFor,
  rangeSetText,
  usableCount,
} from './range.ts';
export { parseResolvConf, readResolvConf } from './resolv-conf.ts';
export { DiskStore, LINE_BREAK, ownerText, parseOwner, type StoredAllocation } from './store.ts';
