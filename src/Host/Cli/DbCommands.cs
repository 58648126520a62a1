using System.CommandLine;
using Akka.Actor;
using Akka.Configuration;
using ActorLab.Actors.Config;
using ActorLab.Actors.Coordinator;
using ActorLab.Model.Common;
using ActorLab.Model.Storage;

namespace ActorLab.Host.Cli;

/// <summary>`actorlab db init`: creates the coordinator journal's tables (Akka.Persistence.Sql's own schema).</summary>
public static class DbCommands
{
    public static Command Build()
    {
        var db = new Command("db", "The coordinator's journal (SQLite file or PostgreSQL).");
        var node = new NodeOptions();
        var init = new Command("init", "Create the journal and snapshot tables of the configured journal (idempotent).");
        node.AddTo(init);
        init.SetAction(pr =>
        {
            var config = node.Build(pr, "akka.loglevel = WARNING\nakka.stdout-loglevel = OFF\n");
            var journal = JournalSettings.From(config);
            Initialize(config, journal);
            Console.WriteLine($"journal ready: {journal.Description}");
            return 0;
        });
        db.Subcommands.Add(init);

        var checkNode = new NodeOptions();
        var check = new Command("check", "Read every coordinator event and snapshot of the configured journal and say which cannot be read or applied (exit 1 if any).");
        checkNode.AddTo(check);
        check.SetAction(pr =>
        {
            var journal = JournalSettings.From(checkNode.Build(pr, "akka.loglevel = WARNING\nakka.stdout-loglevel = OFF\n", createDataDir: false));
            var report = JournalInspector.Check(journal);
            if (report.Fatal != null) throw new UserInputException(report.Fatal);
            if (report.Unreachable != null) throw new UserInputException($"cannot reach the journal: {report.Unreachable}");
            Console.WriteLine($"{report.Journal}: {report.Events} events, {report.Snapshots} snapshots, {report.Problems.Count} problem(s)");
            foreach (var p in report.Problems) Console.WriteLine($"  {p}");
            if (report.Problems.Count > 0) Console.WriteLine("`actorlab db repair` drops them (after a backup), keeping every readable event.");
            return report.Healthy ? 0 : 1;
        });
        db.Subcommands.Add(check);

        var repairNode = new NodeOptions();
        var repair = new Command("repair", "Drop the events and snapshots `db check` finds unusable (after a backup), keeping every readable event; stop the nodes on this journal first.");
        repairNode.AddTo(repair);
        repair.SetAction(pr =>
        {
            var config = repairNode.Build(pr, "akka.loglevel = WARNING\nakka.stdout-loglevel = OFF\n", createDataDir: false);
            var storage = StorageSettings.From(config);
            var journal = JournalSettings.From(config);
            // nobody may write while rows are dropped: a SQLite journal lives in a data dir, and its owner's lock says who
            using var owner = journal.IsSqlite && Directory.Exists(storage.DataDir) ? DataDirLock.Acquire(storage.DataDir, "actorlab db repair") : null;
            if (JournalInspector.Check(journal).Unreachable is { } down) throw new UserInputException($"cannot reach the journal: {down}");
            var (before, backup, dropped) = JournalInspector.Repair(journal);
            if (before.Healthy) { Console.WriteLine($"{before.Journal}: nothing to repair ({before.Events} events, {before.Snapshots} snapshots)"); return 0; }
            if (backup != null) Console.WriteLine($"backup: {backup}");
            Console.WriteLine($"{before.Journal}: dropped {dropped.Count}:");
            foreach (var p in dropped) Console.WriteLine($"  {p}");
            var after = JournalInspector.Check(journal);
            Console.WriteLine(after.Healthy ? $"now {after.Events} events, {after.Snapshots} snapshots, all readable; runs whose events were dropped are requeued from their recorded checkpoints when the coordinator recovers"
                                            : $"still damaged: {after.Summary()}");
            return after.Healthy ? 0 : 1;
        });
        db.Subcommands.Add(repair);
        return db;
    }

    /// <summary>Starts the persistence plugins with auto-initialize on and lets a throwaway actor recover (which creates the tables).</summary>
    public static void Initialize(Akka.Configuration.Config config, JournalSettings journal)
    {
        var forced = ConfigurationFactory.ParseString((journal with { AutoInitialize = true }).Hocon()).WithFallback(config);
        using var system = ActorSystem.Create("actorlab-db", forced);
        try
        {
            if (JournalCheck.Probe(system, TimeSpan.FromSeconds(30)) is { } why)
                throw new UserInputException($"cannot initialise the journal ({journal.Description}): {why}");
        }
        finally
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
        }
    }
}
