package rewriter

// Catalog is an immutable snapshot of the upstream schema (relations, columns, types,
// inheritance, views, functions) that the rewriter resolves names against. The proxy
// loads it from the upstream and swaps it atomically; the rewriter only reads it.
type Catalog struct {
	// Version increases with every snapshot of one process; caches key on it.
	Version uint64
}
