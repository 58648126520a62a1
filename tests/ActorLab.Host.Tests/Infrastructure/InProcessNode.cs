using Akka.Actor;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Actors.Training;
using ActorLab.Host.Composition;
using ActorLab.Model.Storage;

namespace ActorLab.Host.Tests.Infrastructure;

/// <summary>Which journal a runtime test runs on: the SQLite file in the data dir, or a fresh PostgreSQL database.</summary>
public sealed record TestJournal(string Kind, string? Connection)
{
    public static TestJournal Of(string kind) => kind == "sqlite" ? new TestJournal(kind, null) : new TestJournal(kind, Postgres.NewDatabase());

    public string Hocon(string dataDir)
    {
        if (Connection is null) return "";
        Directory.CreateDirectory(dataDir);
        var file = Path.Combine(dataDir, "journal-connection");
        File.WriteAllText(file, Connection);
        return $"actorlab.journal {{ provider = postgresql, connection-string-file = {HoconText.Quote(file)}, auto-initialize = on }}";
    }
}

/// <summary>A whole node (one-node cluster: coordinator, gateway, node agent) in the test process, on loopback.</summary>
public sealed class InProcessNode : IAsyncDisposable
{
    public ActorLabNode Node { get; }
    public StandInBackend? StandIn { get; }
    static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(20);

    InProcessNode(ActorLabNode node, StandInBackend? standIn)
    {
        Node = node;
        StandIn = standIn;
    }

    public const string FastSettings = """
        actorlab.coordinator.retry-backoff-min = 50ms
        actorlab.coordinator.retry-backoff-max = 200ms
        akka.loglevel = WARNING
        akka.stdout-loglevel = WARNING
        """;

    /// <param name="backend">Null: the stand-in, with <paramref name="stepTime"/> per step.</param>
    public static InProcessNode Start(string dataDir, TestJournal journal, string extra = "", ITrainingBackend? backend = null,
        TimeSpan? stepTime = null, long convergeAt = 0)
    {
        var config = ActorLabConfig.Build(dataDir, extraHocon: FastSettings + "\n" + journal.Hocon(dataDir) + "\n" + extra);
        var storage = StorageSettings.From(config).Storage;
        var standIn = backend is null ? new StandInBackend(storage) { StepTime = stepTime ?? TimeSpan.FromMilliseconds(2), ConvergeAt = convergeAt } : null;
        var node = ActorLabNode.Start(config, new NodeEndpoint("127.0.0.1", "127.0.0.1", 0, []), backend ?? standIn);
        return new InProcessNode(node, standIn);
    }

    public RunStorage Storage => Node.Storage.Storage;

    /// <summary>Asks the gateway, waiting out the coordinator's start (<paramref name="timeout"/>: for commands whose bound a test measures).</summary>
    public async Task<T> Ask<T>(object message, TimeSpan? timeout = null)
    {
        var wait = timeout ?? AskTimeout;
        var until = DateTime.UtcNow + wait;
        while (true)
        {
            var reply = await Node.Gateway.Ask<object>(message, wait);
            if (reply is T t) return t;
            if (reply is not NoCoordinator || DateTime.UtcNow > until) throw new InvalidOperationException($"unexpected reply {reply}");
            await Task.Delay(100);
        }
    }

    public async Task<StatusReply> WaitFor(Func<StatusReply, bool> done, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var s = await Ask<StatusReply>(new GetStatus());
            if (done(s)) return s;
            if (DateTime.UtcNow > until) throw new TimeoutException("status never matched: " + string.Join("; ", s.Sweeps));
            await Task.Delay(50);
        }
    }

    public async Task<RunsReply> Runs() => await Ask<RunsReply>(new GetRuns(null, 0, 1000));

    public async Task WaitForRuns(Func<RunsReply, bool> done, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!done(await Runs()))
        {
            if (DateTime.UtcNow > until) throw new TimeoutException("runs never matched: " + string.Join("; ", (await Runs()).Runs));
            await Task.Delay(20);
        }
    }

    /// <summary>Drops the whole system on the floor (no graceful leave): like a crash of the process.</summary>
    /// <summary>The system dropped on the floor; the data dir is free again, as after a process died.</summary>
    public async Task Crash()
    {
        await Node.System.Terminate();
        await Node.DataDirReleased;
    }

    public async ValueTask DisposeAsync() => await Node.DisposeAsync();
}

public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "actorlab-test-" + Guid.NewGuid().ToString("N")[..8]);

    public TempDir() => Directory.CreateDirectory(Path);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch { /* best effort */ }
    }
}
