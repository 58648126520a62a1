using System.CommandLine;
using Akka.Actor;
using Akka.Configuration;
using ActorLab.Actors.Config;
using ActorLab.Actors.Coordinator;
using ActorLab.Model.Common;

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
