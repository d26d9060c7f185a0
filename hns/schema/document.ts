/**
 * Turning a built document into the text HCN takes. Members whose value is undefined are left
 * out; the order of the rest is the order the builders wrote them in, which is hcn.md's order,
 * so the same input always gives byte-identical text (fixtures and tests rely on it).
 */

export function serializeDocument(document: object): string {
  return JSON.stringify(document);
}
