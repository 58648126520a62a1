using System.CommandLine;
using ActorLab.Actors.Config;
using ActorLab.Model.Common;

namespace ActorLab.Host.Cli;

/// <summary>Options every process that hosts a node shares (`actorlab node`, `sweep run`, `db`).</summary>
internal sealed class NodeOptions
{
    public readonly Option<string> DataDir = new("--data-dir") { Description = "This node's folder: journal (SQLite), logs, dataset cache; and the storage root unless --storage-root.", DefaultValueFactory = _ => "./actorlab-data" };
    public readonly Option<string?> Config = new("--config") { Description = "A HOCON file over hocon/actorlab.conf's defaults (e.g. hocon/cluster.conf)." };
    public readonly Option<int?> Slots = new("--slots") { Description = "Trainer slots (CPU) on this node (default: actorlab.node.cpu-slots, or slots-per-device per CUDA device)." };
    public readonly Option<string?> StorageRoot = new("--storage-root") { Description = "The shared folder for run and sweep results (NFS/CephFS; default actorlab.storage.root, else the data dir)." };

    public void AddTo(Command c)
    {
        c.Options.Add(DataDir);
        c.Options.Add(Config);
        c.Options.Add(Slots);
        c.Options.Add(StorageRoot);
    }

    /// <summary>The process's configuration: flags (quoted, never spliced into HOCON) over the --config file over the defaults.</summary>
    public Akka.Configuration.Config Build(ParseResult pr, string extra = "", bool createDataDir = true)
    {
        var slots = pr.GetValue(Slots);
        if (slots is < 1) throw new UserInputException($"--slots must be at least 1, got {slots}.");
        var dataDir = pr.GetValue(DataDir)!;
        var overrides = new List<string>();
        if (slots is { } s) overrides.Add($"actorlab.node.cpu-slots = {s}");
        if (pr.GetValue(StorageRoot) is { } root)
        {
            root = PathChecks.OutputFolder("--storage-root", root);
            Directory.CreateDirectory(root);
            overrides.Add($"actorlab.storage.root = {HoconText.Quote(Path.GetFullPath(root))}");
        }
        return ActorLabConfig.Build(dataDir, pr.GetValue(Config), string.Join("\n", overrides) + "\n" + extra, createDataDir);
    }

    /// <summary>HOCON that logs every actor to a file (and, for a node, INFO to stdout too).</summary>
    public static string Logging(string logFile, bool stdout) => $$"""
        actorlab.log-file = {{HoconText.Quote(logFile)}}
        akka.loggers = [{{(stdout ? "\"Akka.Event.DefaultLogger, Akka\", " : "")}}"ActorLab.Actors.Config.FileLogger, ActorLab.Actors"]
        akka.stdout-loglevel = {{(stdout ? "INFO" : "WARNING")}}
        """;
}
