// Every Firestore query the read model makes is first described as a QueryShape: which
// collection (by its role, since names are settings), which fields it filters by equality,
// which field it ranges over or orders by. From the shape alone follows the index Firestore
// needs (requiredIndex), so a test can check each one against terraform/firestore.tf, and a
// test that walks every view can check every query actually made (QueryLog).

/** A collection by what it holds; its name is a setting (ReadSettings). */
export type CollectionRole = 'audit' | 'connectors' | 'joins' | 'jobState' | 'freshness' | 'followedRuns';

export interface QueryShape {
  collection: CollectionRole;
  /** Fields filtered with == or in. */
  equalities: string[];
  /** The field filtered with a range (>=, <) and ordered by, if any: one field only. */
  orderBy?: { field: string; direction: 'asc' | 'desc' };
  /** A count aggregation instead of documents. */
  count?: boolean;
}

/** A composite index as Terraform declares it (google_firestore_index): fields in order. */
export interface CompositeIndex {
  collection: CollectionRole;
  fields: Array<{ field: string; order: 'ASCENDING' | 'DESCENDING' }>;
}

/**
 * The composite index a query needs, or null when Firestore's automatic single-field
 * indexes serve it (firebase.google.com/docs/firestore/query-data/index-overview):
 * - equality filters alone, on any fields (single-field indexes merged), in document order;
 * - a range and order on one field, with no equality filter (that field's own index, asc or desc);
 * - otherwise equality fields ascending, then the ordered field in its direction. The
 *   document-id tie-break the read model adds for cursors follows the last field's
 *   direction, which every index includes implicitly.
 * A count aggregation needs the same index as the query it counts.
 */
export function requiredIndex(shape: QueryShape): CompositeIndex | null {
  if (!shape.orderBy || shape.equalities.length === 0) return null;
  const equalities = [...new Set(shape.equalities)].filter((f) => f !== shape.orderBy!.field);
  if (equalities.length === 0) return null;
  return {
    collection: shape.collection,
    fields: [...equalities.map((field) => ({ field, order: 'ASCENDING' as const })), { field: shape.orderBy.field, order: shape.orderBy.direction === 'asc' ? 'ASCENDING' : 'DESCENDING' }],
  };
}

export function indexKey(index: CompositeIndex): string {
  return `${index.collection}(${index.fields.map((f) => `${f.field} ${f.order === 'ASCENDING' ? 'asc' : 'desc'}`).join(', ')})`;
}

/** Records the shape of every query made through it: the walk-every-view test checks them all against Terraform. */
export class QueryLog {
  readonly shapes = new Map<string, QueryShape>();

  record(shape: QueryShape): void {
    this.shapes.set(JSON.stringify(shape), shape);
  }
}
