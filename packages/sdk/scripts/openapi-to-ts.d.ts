export declare const DOCUMENT_BASE: string;
export declare function schemaToTs(schema: unknown, depth?: number): string;
export declare function coveredOperations(
  document: unknown,
): Array<{ key: string; method: string; path: string; operation: unknown }>;
export declare function generate(document: unknown): Record<string, string>;
