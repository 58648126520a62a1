using System.Text.RegularExpressions;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;

namespace ActorLab.Model.Storage;

/// <summary>
/// Where things live, from their logical ids: the one place that builds paths. Run results (checkpoints, eval
/// results, progress) and sweep results (capacity tables, plots) go under the shared storage root (the NFS or
/// CephFS folder every node mounts, `actorlab.storage.root`); datasets and tokenizers are a per-node cache under
/// the data dir, rebuilt from their content id. Ids are checked before any path is made from them: a sweep or
/// run name is letters, digits, '-', '_' and '.', never '..', never a path.
/// </summary>
public sealed partial class RunStorage
{
    public RunStorage(string root, string cacheDir)
    {
        Root = Path.GetFullPath(root);
        CacheDir = Path.GetFullPath(cacheDir);
    }

    /// <summary>Shared: runs/ and sweeps/.</summary>
    public string Root { get; }
    /// <summary>This node's: datasets/ and tokenizers/.</summary>
    public string CacheDir { get; }

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")]
    private static partial Regex NamePattern();

    /// <summary>A sweep or run name that is safe as one path segment.</summary>
    public static string CheckName(string name, string what)
    {
        if (!NamePattern().IsMatch(name) || name.Contains(".."))
            throw new UserInputException($"{what} '{name}' is not a valid name (letters, digits, '-', '_', '.'; no '..', no path).");
        return name;
    }

    /// <summary>Splits "sweep/run" into its checked parts.</summary>
    public static (string Sweep, string Run) ParseRunId(string runId)
    {
        var parts = runId.Split('/');
        if (parts.Length != 2) throw new UserInputException($"run id '{runId}' is not sweep/run.");
        return (CheckName(parts[0], "sweep"), CheckName(parts[1], "run"));
    }

    /// <summary>runs/&lt;sweep&gt;/&lt;run&gt; under the storage root.</summary>
    public string RunDir(string runId)
    {
        var (sweep, run) = ParseRunId(runId);
        return Path.Combine(Root, "runs", sweep, run);
    }

    /// <summary>The files of one run as written under one lease epoch.</summary>
    public RunFolder Run(string runId, long? epoch) => new(RunDir(runId), epoch);

    /// <summary>sweeps/&lt;sweep&gt;: capacity tables and plots.</summary>
    public string SweepDir(string sweep) => Path.Combine(Root, "sweeps", CheckName(sweep, "sweep"));

    /// <summary>This node's cached profiles of a dataset: datasets/&lt;profiles id&gt;/profiles_dataset_....parquet.</summary>
    public string ProfilesPath(DatasetConfig d) => Path.Combine(CacheDir, "datasets", d.ProfilesId, d.ProfilesFileName);

    /// <summary>This node's cached tokenizer of a dataset: tokenizers/&lt;dataset id&gt;/.</summary>
    public string TokenizerDir(DatasetConfig d) => Path.Combine(CacheDir, "tokenizers", d.Id);

    /// <summary>The profiles folders measurement searches by reference file name.</summary>
    public string ProfilesDir(DatasetConfig d) => Path.GetDirectoryName(ProfilesPath(d))!;
}
