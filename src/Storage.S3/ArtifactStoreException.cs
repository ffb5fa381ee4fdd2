namespace MegaFlow.Storage.S3;

/// <summary>An artifact could not be stored or read, after retries; the message names the store, bucket and key.</summary>
public sealed class ArtifactStoreException(string message, Exception? inner = null) : IOException(message, inner);
