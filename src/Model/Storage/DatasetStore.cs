using System.Collections.Concurrent;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;

namespace ActorLab.Model.Storage;

/// <summary>The SHA-256 of a dataset's profiles file and of its tokenizer folder, as first built (recorded in the journal).</summary>
public sealed record DatasetFingerprint(string ProfilesSha256, string TokenizerSha256);

/// <summary>A dataset's files on this node, with their fingerprint.</summary>
public sealed record PreparedDataset(DatasetConfig Config, string ProfilesPath, string TokenizerDir, DatasetFingerprint Fingerprint);

/// <summary>A dataset loaded for training or evaluation: profiles, tokenizer, and the token cache the streams share.</summary>
public sealed record LoadedDataset(ProfileDatabase Db, QaTokenizer Tokenizer, QaTokenCache Cache)
{
    public static LoadedDataset Load(string profilesPath, string tokenizerDir)
    {
        var db = ProfileParquet.Read(profilesPath);
        var tok = QaTokenizer.Load(tokenizerDir);
        return new LoadedDataset(db, tok, new QaTokenCache(db, tok));
    }
}

/// <summary>
/// Builds datasets into this node's cache from their <see cref="DatasetConfig"/> (profiles, then the tokenizer
/// trained on their Q&amp;A text) and checks them against the fingerprint recorded when the dataset was first
/// made: generation is deterministic, so every node must arrive at the same bytes. A cached copy that does not
/// match (damaged, or left half-written) is rebuilt; a rebuild that still does not match is an error, never a
/// silently different dataset. Writes go to temp files and folders renamed into place.
/// </summary>
public static class DatasetStore
{
    static readonly ConcurrentDictionary<string, object> Gates = new();
    static readonly ConcurrentDictionary<string, Lazy<LoadedDataset>> Loaded = new();

    /// <summary>Finds or builds the dataset; <paramref name="expected"/> null = first build (its fingerprint is returned).</summary>
    public static PreparedDataset Ensure(RunStorage storage, DatasetConfig d, DatasetFingerprint? expected, CancellationToken cancel = default)
    {
        lock (Gates.GetOrAdd(d.Id, _ => new object()))
        {
            var profiles = storage.ProfilesPath(d);
            var tokenizer = storage.TokenizerDir(d);
            var cached = Fingerprint(profiles, tokenizer);
            if (cached != null && (expected == null || cached == expected))
                return new PreparedDataset(d, profiles, tokenizer, cached);

            // missing or not what was recorded: rebuild both from the config
            var lists = d.LoadLists();
            cancel.ThrowIfCancellationRequested();
            Directory.CreateDirectory(Path.GetDirectoryName(profiles)!);
            var db = ProfileGenerator.Generate(new ProfileGeneratorConfig(d.NProfiles, d.Relations, d.Seed, d.Bipartite), lists);
            ProfileParquet.Write(db, profiles);
            cancel.ThrowIfCancellationRequested();
            var tok = QaTokenizer.Train(QaCorpus.Texts(db, d.Seed), d.VocabSize);
            var tmp = TempFiles.Beside(tokenizer);
            Directory.CreateDirectory(tmp);
            try
            {
                tok.Save(tmp);
                if (Directory.Exists(tokenizer)) Directory.Delete(tokenizer, recursive: true);
                Directory.Move(tmp, tokenizer);
            }
            finally
            {
                if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            }
            Loaded.TryRemove(profiles + "|" + tokenizer, out _);
            var built = Fingerprint(profiles, tokenizer)
                        ?? throw new InvalidOperationException($"dataset {d.Name}: files missing right after building them");
            if (expected != null && built != expected)
                throw new UserInputException(
                    $"dataset {d.Name} ({d.Id}) rebuilt on this node differs from the one first built (profiles {built.ProfilesSha256[..12]} vs " +
                    $"{expected.ProfilesSha256[..12]}, tokenizer {built.TokenizerSha256[..12]} vs {expected.TokenizerSha256[..12]}): " +
                    "are all nodes running the same ActorLab version?");
            return new PreparedDataset(d, profiles, tokenizer, built);
        }
    }

    /// <summary>
    /// The dataset a run trained on, for commands that open its folder (eval, probe): the run's own profiles and
    /// tokenizer paths (as given to `actorlab train`, absolute or relative to the run folder), or, for a sweep run,
    /// its dataset by content id from the cache beside the run's storage root or <paramref name="cacheDir"/>,
    /// built there if neither has it.
    /// </summary>
    public static LoadedDataset ForRun(RunConfig run, string runDir, string? cacheDir = null)
    {
        if (run.Dataset is { } d)
        {
            var root = Path.GetFullPath(Path.Combine(runDir, "..", "..", ".."));
            var beside = new RunStorage(root, root);
            if (Fingerprint(beside.ProfilesPath(d), beside.TokenizerDir(d)) is not null) return Load(Ensure(beside, d, null));
            return Load(Ensure(new RunStorage(root, cacheDir ?? root), d, null));
        }
        if (run.Profiles is null || run.Tokenizer is null)
            throw new UserInputException($"run '{runDir}': its {RunConfig.FileName} names neither a dataset nor profiles and tokenizer paths");
        return Load(Resolve(run.Profiles, runDir, "profiles"), Resolve(run.Tokenizer, runDir, "tokenizer"));
    }

    static string Resolve(string path, string runDir, string what)
    {
        if (File.Exists(path) || Directory.Exists(path)) return path;
        var rel = Path.Combine(runDir, path);
        if (File.Exists(rel) || Directory.Exists(rel)) return rel;
        throw new UserInputException($"the run's {what} '{path}' (from {RunConfig.FileName}) was not found");
    }

    /// <summary>The fingerprint of files on disk, or null when either is missing.</summary>
    public static DatasetFingerprint? Fingerprint(string profilesPath, string tokenizerDir)
    {
        if (!File.Exists(profilesPath) || !File.Exists(Path.Combine(tokenizerDir, QaTokenizer.HfTokenizerFile))
            || !File.Exists(Path.Combine(tokenizerDir, QaTokenizer.ConfigFile)))
            return null;
        return new DatasetFingerprint(FileHash.Sha256(profilesPath), FileHash.Sha256OfFolder(tokenizerDir));
    }

    /// <summary>The dataset loaded once per process (trainers, batch workers and evaluators on a node share it).</summary>
    public static LoadedDataset Load(string profilesPath, string tokenizerDir) =>
        Loaded.GetOrAdd(profilesPath + "|" + tokenizerDir, _ => new Lazy<LoadedDataset>(() => LoadedDataset.Load(profilesPath, tokenizerDir))).Value;

    public static LoadedDataset Load(PreparedDataset p) => Load(p.ProfilesPath, p.TokenizerDir);
}
