namespace Lockstep.Connectors.Http;

/// <summary>A flow to an http system: the operation for an upsert and, optionally, for a delete and for reading a record back.</summary>
internal sealed record HttpFlowOptions(HttpOperation Upsert, HttpOperation? Delete, HttpOperation? Get);
