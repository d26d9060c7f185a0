// Reading and the few edits the Windows build makes to a PE image (a Windows .exe or .dll),
// in plain JavaScript so the build (plain Node.js) and the tests (TypeScript) share it:
// the headers a loader checks (MZ, PE\0\0 at e_lfanew, machine, DLL flag), a named resource
// (the SEA blob postject adds as RT_RCDATA "NODE_SEA_BLOB"), removing the Authenticode
// signature that injection would leave invalid, the header checksum, and a marker text in the
// DOS stub. It never changes code or sections. Layouts: Microsoft's "PE Format" page.

export const MACHINE_AMD64 = 0x8664;
const IMAGE_FILE_DLL = 0x2000;
const PE32_PLUS_MAGIC = 0x20b;
const RT_RCDATA = 10;
const DIRECTORY_RESOURCE = 2;
const DIRECTORY_SECURITY = 4;

/** The DOS stub's message in every image MSVC links; its length is what a marker may use. */
const DOS_STUB_MESSAGE = 'This program cannot be run in DOS mode.';

/** @param {Buffer} image */
export function readPeHeaders(image) {
  if (image.length < 0x40 || image.toString('latin1', 0, 2) !== 'MZ') {
    throw new Error('not a PE image: no MZ header');
  }
  const peOffset = image.readUInt32LE(0x3c);
  if (peOffset + 24 > image.length || image.toString('latin1', peOffset, peOffset + 4) !== 'PE\0\0') {
    throw new Error(`not a PE image: no PE\\0\\0 signature at e_lfanew 0x${peOffset.toString(16)}`);
  }
  const coff = peOffset + 4;
  const machine = image.readUInt16LE(coff);
  const sectionCount = image.readUInt16LE(coff + 2);
  const optionalSize = image.readUInt16LE(coff + 16);
  const characteristics = image.readUInt16LE(coff + 18);
  const optional = coff + 20;
  const magic = image.readUInt16LE(optional);
  if (magic !== PE32_PLUS_MAGIC)
    throw new Error(`not a PE32+ (64-bit) image: optional header magic 0x${magic.toString(16)}`);
  const directoryCount = image.readUInt32LE(optional + 108);
  const directories = [];
  for (let i = 0; i < directoryCount; i++) {
    const at = optional + 112 + i * 8;
    directories.push({ at, rva: image.readUInt32LE(at), size: image.readUInt32LE(at + 4) });
  }
  const sections = [];
  for (let i = 0; i < sectionCount; i++) {
    const at = optional + optionalSize + i * 40;
    sections.push({
      name: image.toString('latin1', at, at + 8).replace(/\0+$/, ''),
      virtualSize: image.readUInt32LE(at + 8),
      virtualAddress: image.readUInt32LE(at + 12),
      rawSize: image.readUInt32LE(at + 16),
      rawOffset: image.readUInt32LE(at + 20),
    });
  }
  return {
    peOffset,
    machine,
    isDll: (characteristics & IMAGE_FILE_DLL) !== 0,
    subsystem: image.readUInt16LE(optional + 68),
    checksumAt: optional + 64,
    directories,
    sections,
  };
}

/** @param {ReturnType<typeof readPeHeaders>} headers @param {number} rva */
function fileOffset(headers, rva) {
  for (const s of headers.sections) {
    if (rva >= s.virtualAddress && rva < s.virtualAddress + Math.max(s.virtualSize, s.rawSize)) {
      return s.rawOffset + (rva - s.virtualAddress);
    }
  }
  throw new Error(`RVA 0x${rva.toString(16)} is in no section`);
}

/**
 * The data of the RT_RCDATA resource called `name` (first language), or undefined.
 * @param {Buffer} image @param {string} name
 */
export function findRcDataResource(image, name) {
  const headers = readPeHeaders(image);
  const dir = headers.directories[DIRECTORY_RESOURCE];
  if (!dir || dir.rva === 0) return undefined;
  const base = fileOffset(headers, dir.rva);
  /** Entries of the resource directory at `offset` (relative to the section's start). */
  const entries = (offset) => {
    const at = base + offset;
    const count = image.readUInt16LE(at + 12) + image.readUInt16LE(at + 14);
    return Array.from({ length: count }, (_, i) => {
      const nameField = image.readUInt32LE(at + 16 + i * 8);
      const target = image.readUInt32LE(at + 20 + i * 8);
      let key = nameField;
      if (nameField & 0x80000000) {
        const str = base + (nameField & 0x7fffffff);
        key = image.toString('utf16le', str + 2, str + 2 + image.readUInt16LE(str) * 2);
      }
      return { key, subdirectory: (target & 0x80000000) !== 0, offset: target & 0x7fffffff };
    });
  };
  const type = entries(0).find((e) => e.key === RT_RCDATA && e.subdirectory);
  const named = type && entries(type.offset).find((e) => e.key === name && e.subdirectory);
  const language = named && entries(named.offset)[0];
  if (!language || language.subdirectory) return undefined;
  const entry = base + language.offset;
  const start = fileOffset(headers, image.readUInt32LE(entry));
  return image.subarray(start, start + image.readUInt32LE(entry + 4));
}

/**
 * The image without its Authenticode signature (the certificate table at the end of the file):
 * injecting a resource invalidates the signature, and an invalid one is worse than none.
 * @param {Buffer} image
 */
export function withoutSignature(image) {
  const headers = readPeHeaders(image);
  const security = headers.directories[DIRECTORY_SECURITY];
  if (!security || security.size === 0) return image;
  // The security directory holds a file offset, not an RVA; the table is the file's tail.
  const end = security.rva + security.size;
  if (end < image.length - 7 || end > image.length) {
    throw new Error('the certificate table is not at the end of the file; refusing to cut it out');
  }
  const stripped = Buffer.from(image.subarray(0, security.rva));
  stripped.writeUInt32LE(0, security.at);
  stripped.writeUInt32LE(0, security.at + 4);
  return stripped;
}

/** Writes the optional header's CheckSum as IMAGEHLP's CheckSumMappedFile computes it. @param {Buffer} image */
export function updateChecksum(image) {
  const { checksumAt } = readPeHeaders(image);
  let sum = 0;
  const words = Math.floor(image.length / 2);
  for (let i = 0; i < words; i++) {
    const at = i * 2;
    if (at === checksumAt || at === checksumAt + 2) continue;
    sum += image.readUInt16LE(at);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (image.length % 2) sum += image[image.length - 1];
  sum = (sum & 0xffff) + (sum >>> 16);
  image.writeUInt32LE((sum + image.length) >>> 0, checksumAt);
  return image;
}

/** The checksum the header claims and the one the bytes give. @param {Buffer} image */
export function checksums(image) {
  const { checksumAt } = readPeHeaders(image);
  const stored = image.readUInt32LE(checksumAt);
  const copy = Buffer.from(image);
  return { stored, computed: updateChecksum(copy).readUInt32LE(checksumAt) };
}

/**
 * Replaces the DOS stub's message with `marker` (padded to the same length), in place. Only
 * MS-DOS ever shows that text; Windows' loader jumps to the PE header. Returns false when the
 * image has no such message within its first `window` bytes.
 * @param {Buffer} image @param {string} marker @param {number} window
 */
export function markDosStub(image, marker, window) {
  const head = image.subarray(0, Math.min(window, readPeHeaders(image).peOffset));
  if (head.includes(marker, 0, 'latin1')) return true;
  const at = head.indexOf(DOS_STUB_MESSAGE, 0, 'latin1');
  if (at < 0 || marker.length > DOS_STUB_MESSAGE.length) return false;
  image.write(marker.padEnd(DOS_STUB_MESSAGE.length, ' '), at, 'latin1');
  return true;
}
