/**
 * A parser for the subset of YAML that deploy/ is written in, so the manifests can be checked
 * without a YAML dependency: `---`-separated documents, block mappings and sequences (including
 * `- key: value` items), comments, plain / 'single' / "double" quoted scalars, literal block
 * scalars (`|`, `|-`), and flow collections only when they are valid JSON (`[]`, `["sh", "-c"]`).
 * Anything else is an error naming the line, and so are plain scalars Kubernetes' YAML 1.1
 * reader would type differently from a YAML 1.2 reader (yes/no/on/off, 0755): quote them.
 * Keeping deploy/ inside this subset is a feature: nothing in it depends on YAML's corner cases.
 */

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

export class YamlSubsetError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'YamlSubsetError';
  }
}

interface Line {
  no: number;
  indent: number;
  text: string;
}

const AMBIGUOUS_PLAIN = /^(y|n|yes|no|on|off)$/i;

function isIgnorable(raw: string): boolean {
  const t = raw.trim();
  return t === '' || t.startsWith('#');
}

class DocumentParser {
  private pos = 0;

  constructor(private readonly lines: Line[]) {}

  parse(): YamlValue {
    this.skipIgnorable();
    if (this.pos >= this.lines.length) return null;
    const first = this.lines[this.pos]!;
    const value = this.parseNode(first.indent);
    this.skipIgnorable();
    if (this.pos < this.lines.length) {
      throw new YamlSubsetError(this.lines[this.pos]!.no, 'unexpected content after the document');
    }
    return value;
  }

  private skipIgnorable(): void {
    while (this.pos < this.lines.length && isIgnorable(this.lines[this.pos]!.text)) this.pos++;
  }

  private current(): Line | undefined {
    this.skipIgnorable();
    return this.lines[this.pos];
  }

  private parseNode(indent: number): YamlValue {
    const line = this.current();
    if (!line || line.indent < indent) return null;
    return isSequenceItem(line.text) ? this.parseSequence(line.indent) : this.parseMapping(line.indent);
  }

  private parseSequence(indent: number): YamlValue[] {
    const items: YamlValue[] = [];
    for (
      let line = this.current();
      line && line.indent === indent && isSequenceItem(line.text);
      line = this.current()
    ) {
      const rest = line.text.slice(1);
      const content = rest.trimStart();
      if (content === '' || content.startsWith('#')) {
        this.pos++;
        const next = this.current();
        if (!next || next.indent <= indent) throw new YamlSubsetError(line.no, 'empty sequence item');
        items.push(this.parseNode(next.indent));
      } else if (content.startsWith('|')) {
        this.pos++;
        items.push(this.parseBlockScalar(content, indent, line.no));
      } else if (startsMapping(content)) {
        // `- key: value`: the item is a mapping whose keys sit at the column after "- ".
        this.lines[this.pos] = {
          no: line.no,
          indent: indent + 1 + (rest.length - content.length),
          text: content,
        };
        items.push(this.parseMapping(this.lines[this.pos]!.indent));
      } else {
        this.pos++;
        items.push(parseInlineScalar(content, line.no));
      }
    }
    const stray = this.current();
    if (stray && stray.indent > indent) throw new YamlSubsetError(stray.no, 'unexpected indentation');
    return items;
  }

  private parseMapping(indent: number): { [key: string]: YamlValue } {
    const map: { [key: string]: YamlValue } = {};
    for (let line = this.current(); line && line.indent >= indent; line = this.current()) {
      if (line.indent > indent) throw new YamlSubsetError(line.no, 'unexpected indentation');
      if (isSequenceItem(line.text)) break;
      const { key, rest } = splitKey(line.text, line.no);
      if (Object.hasOwn(map, key)) throw new YamlSubsetError(line.no, `duplicate key "${key}"`);
      this.pos++;
      if (rest === '' || rest.startsWith('#')) {
        const next = this.current();
        if (next && next.indent > indent) map[key] = this.parseNode(next.indent);
        else if (next && next.indent === indent && isSequenceItem(next.text))
          map[key] = this.parseSequence(indent);
        else map[key] = null;
      } else if (rest.startsWith('|')) {
        map[key] = this.parseBlockScalar(rest, indent, line.no);
      } else {
        map[key] = parseInlineScalar(rest, line.no);
      }
    }
    return map;
  }

  /** A literal block scalar whose parent node sits at `parentIndent`; this.pos is past its header. */
  private parseBlockScalar(header: string, parentIndent: number, no: number): string {
    const indicator = header.replace(/\s+#.*$/, '').trim();
    if (indicator !== '|' && indicator !== '|-') {
      throw new YamlSubsetError(no, `block scalar "${indicator}": only | and |- are in the subset`);
    }
    const body: string[] = [];
    let contentIndent = -1;
    while (this.pos < this.lines.length) {
      const line = this.lines[this.pos]!;
      if (line.text.trim() === '') {
        body.push('');
        this.pos++;
        continue;
      }
      if (contentIndent < 0) {
        if (line.indent <= parentIndent) break;
        contentIndent = line.indent;
      }
      if (line.indent < contentIndent) break;
      body.push(' '.repeat(line.indent - contentIndent) + line.text);
      this.pos++;
    }
    // Trailing blank lines belong to no one: give them back so line numbers stay right.
    while (body.length > 0 && body[body.length - 1] === '') {
      body.pop();
      this.pos--;
    }
    const text = body.join('\n');
    return indicator === '|' && text !== '' ? `${text}\n` : text;
  }
}

function isSequenceItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

/** Does an item's text start a mapping (`key: ...` or `key:`) rather than being a scalar? */
function startsMapping(text: string): boolean {
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = quotedEnd(text);
    return end > 0 && /^:(\s|$)/.test(text.slice(end));
  }
  if (text.startsWith('[') || text.startsWith('{')) return false;
  return /^[^\s#][^#]*?:(\s|$)/.test(text);
}

/** Index just past the closing quote of a quoted scalar at the start of `text`, or -1. */
function quotedEnd(text: string): number {
  const quote = text[0];
  for (let i = 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') {
      i++;
      continue;
    }
    if (text[i] === quote) {
      if (quote === "'" && text[i + 1] === "'") {
        i++;
        continue;
      }
      return i + 1;
    }
  }
  return -1;
}

function splitKey(text: string, no: number): { key: string; rest: string } {
  if (text.startsWith('?')) throw new YamlSubsetError(no, 'complex keys are not in the subset');
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = quotedEnd(text);
    if (end < 0 || !/^:(\s|$)/.test(text.slice(end))) throw new YamlSubsetError(no, 'expected "key: value"');
    return { key: String(parseInlineScalar(text.slice(0, end), no)), rest: text.slice(end + 1).trim() };
  }
  const match = /^([^\s#][^#]*?):(\s+|$)(.*)$/.exec(text);
  if (!match) throw new YamlSubsetError(no, `expected "key: value", got "${text}"`);
  const key = match[1]!;
  if (/^[&*!|>%@`]/.test(key)) throw new YamlSubsetError(no, `key "${key}" uses syntax outside the subset`);
  return { key, rest: match[3]!.trim() };
}

function parseDoubleQuoted(text: string, no: number): string {
  try {
    // YAML's double-quoted escapes that deploy/ may use (\\ \" \n \t \uXXXX) are JSON's.
    return JSON.parse(text) as string;
  } catch {
    throw new YamlSubsetError(no, `double-quoted scalar ${text} uses escapes outside the subset`);
  }
}

function parseInlineScalar(raw: string, no: number): YamlValue {
  const text = raw.trim();
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = quotedEnd(text);
    if (end < 0)
      throw new YamlSubsetError(no, 'unterminated quoted scalar (multi-line quotes are not in the subset)');
    const after = text.slice(end).trim();
    if (after !== '' && !after.startsWith('#'))
      throw new YamlSubsetError(no, `text after a quoted scalar: ${after}`);
    const body = text.slice(0, end);
    return body.startsWith('"') ? parseDoubleQuoted(body, no) : body.slice(1, -1).replace(/''/g, "'");
  }
  if (text.startsWith('[') || text.startsWith('{')) {
    const json = text.replace(/\s+#[^"\]}]*$/, '');
    try {
      return JSON.parse(json) as YamlValue;
    } catch {
      throw new YamlSubsetError(no, `flow collection ${json} is not JSON (the subset's only flow style)`);
    }
  }
  if (/^[&*!>%@`]/.test(text)) throw new YamlSubsetError(no, `"${text}" uses syntax outside the subset`);
  const plain = text.replace(/\s+#.*$/, '');
  if (plain === '' || plain === '~' || plain === 'null') return null;
  if (plain === 'true') return true;
  if (plain === 'false') return false;
  if (AMBIGUOUS_PLAIN.test(plain))
    throw new YamlSubsetError(no, `"${plain}" is a boolean to YAML 1.1: quote it`);
  if (/^0\d+$/.test(plain)) throw new YamlSubsetError(no, `"${plain}" is octal to YAML 1.1: quote it`);
  if (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(plain)) return Number(plain);
  if (plain.includes(': ') || plain.endsWith(':'))
    throw new YamlSubsetError(no, `"${plain}": quote scalars containing ": "`);
  return plain;
}

/** Parse every document of a multi-document YAML text (empty documents are dropped). */
export function parseYamlSubset(text: string): YamlValue[] {
  if (text.includes('\t')) {
    const no = text.slice(0, text.indexOf('\t')).split('\n').length;
    throw new YamlSubsetError(no, 'tab character (YAML indents with spaces)');
  }
  const docs: Line[][] = [[]];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (/^---\s*(#.*)?$/.test(line)) {
      docs.push([]);
      return;
    }
    if (/^\.\.\.\s*$/.test(line) || line.startsWith('%')) {
      throw new YamlSubsetError(i + 1, 'directives and document end markers are not in the subset');
    }
    const indent = line.length - line.trimStart().length;
    docs[docs.length - 1]!.push({ no: i + 1, indent, text: line.trimStart() });
  });
  return docs
    .filter((lines) => lines.some((l) => !isIgnorable(l.text)))
    .map((lines) => new DocumentParser(lines).parse());
}
