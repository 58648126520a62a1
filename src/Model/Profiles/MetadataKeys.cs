namespace ActorLab.Model.Profiles;

/// <summary>Key-value metadata stored in a profiles parquet file's footer (and in <see cref="ProfileDatabase.Metadata"/>).</summary>
public static class MetadataKeys
{
    public const string Generator = "actorlab.generator";
    public const string GeneratorVersion = "actorlab.generator_version";
    public const string Seed = "actorlab.seed";
    public const string Relations = "actorlab.relations";
    public const string Bipartite = "actorlab.bipartite";
    public const string Dataset = "actorlab.dataset";
    /// <summary>+ list name (first_names, surnames, cities, universities, employers): SHA-256 of the list's values.</summary>
    public const string FingerprintPrefix = "actorlab.lists.sha256.";
    /// <summary>Set by the reader: the file the database was loaded from.</summary>
    public const string SourceFile = "actorlab.source_file";
}
