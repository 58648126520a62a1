using System.CommandLine;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using ActorLab.Actors.Config;
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
            var done = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
            system.ActorOf(Props.Create(() => new Probe(done)), "db-init");
            if (!done.Task.Wait(TimeSpan.FromSeconds(30)))
                throw new UserInputException($"the journal ({journal.Description}) did not answer within 30 s");
            if (done.Task.Result is { } e)
            {
                var inner = e;
                while (inner.InnerException != null) inner = inner.InnerException;
                throw new UserInputException($"cannot initialise the journal ({journal.Description}): {inner.Message}");
            }
        }
        finally
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
        }
    }

    sealed class Probe : ReceivePersistentActor
    {
        public override string PersistenceId => "actorlab-db-init";

        public Probe(TaskCompletionSource<Exception?> done)
        {
            Recover<RecoveryCompleted>(_ => done.TrySetResult(null));
            Recover<object>(_ => { });
            _done = done;
        }

        readonly TaskCompletionSource<Exception?> _done;

        protected override void OnRecoveryFailure(Exception reason, object? message = null)
        {
            _done.TrySetResult(reason);
            base.OnRecoveryFailure(reason, message);
        }
    }
}
