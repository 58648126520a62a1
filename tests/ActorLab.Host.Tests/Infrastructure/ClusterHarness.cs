using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ActorLab.Actors.Config;
using ActorLab.Host.Tests.Actors;

namespace ActorLab.Host.Tests.Infrastructure;

/// <summary>
/// A cluster of real `actorlab node` processes on 127.0.0.x, sharing one storage folder and one PostgreSQL journal,
/// optionally inside a network namespace of its own. Sweeps named in <c>standIn</c> train with the fast stand-in.
/// The test (or benchmark) acts as the nodes' supervisor: it kills and restarts them.
/// </summary>
public sealed class ClusterHarness : IDisposable
{
    /// <param name="User">Run the node as this user (e.g. nobody, so nftables can tell its packets apart); null: as the test.</param>
    public sealed record NodeSpec(string Name, string Host, int Port, string Roles, int Slots = 1, string? User = null)
    {
        public string Contact => $"{Host}:{Port}";
    }

    readonly Dictionary<string, ActorLabProcess> _running = new();
    readonly Dictionary<string, NodeSpec> _nodes = new();
    readonly IReadOnlyList<string>? _prefix;
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    public string Root { get; }
    public string Storage => Path.Combine(Root, "storage");
    public string ConfigFile => Path.Combine(Root, "cluster.conf");
    public string Connection { get; }
    public IReadOnlyList<string> Seeds { get; private set; } = [];

    /// <param name="netns">Run every process in this network namespace (ip netns exec).</param>
    public ClusterHarness(string connection, IEnumerable<string> standIn, TimeSpan stepTime, string? netns = null, string extra = "")
    {
        Root = Path.Combine(Path.GetTempPath(), "actorlab-cluster-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Storage);
        // nodes may run as other users: everything they share is open to all (and they run with umask 000)
        File.SetUnixFileMode(Root, (UnixFileMode)0b111_111_111);
        File.SetUnixFileMode(Storage, (UnixFileMode)0b111_111_111);
        Connection = connection;
        _prefix = netns is null ? null : ["ip", "netns", "exec", netns];
        var csFile = Path.Combine(Root, "journal-connection");
        File.WriteAllText(csFile, connection);
        File.WriteAllText(ConfigFile, $$"""
            actorlab.journal { provider = postgresql, connection-string-file = {{HoconText.Quote(csFile)}}, auto-initialize = off }
            actorlab.testing.stand-in-sweeps = [{{string.Join(", ", standIn.Select(HoconText.Quote))}}]
            actorlab.testing.stand-in-step-time = {{(int)stepTime.TotalMilliseconds}}ms
            actorlab.coordinator.retry-backoff-min = 100ms
            actorlab.coordinator.retry-backoff-max = 1s
            {{extra}}
            """);
    }

    public static int FreePort(string host = "127.0.0.1")
    {
        var l = new TcpListener(IPAddress.Parse(host), 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public string DataDir(string node) => Path.Combine(Root, node);
    public string Log(string node) => Path.Combine(DataDir(node), "logs", "node.log");
    public NodeSpec Node(string name) => _nodes[name];
    public string Contacts => string.Join(",", _nodes.Values.Where(n => n.Roles.Contains("coordinator")).Select(n => n.Contact));

    public ActorLabProcess Process(string name) => _running[name];

    /// <summary>`actorlab db init` against the cluster's journal.</summary>
    public ActorLabCli.Result InitJournal() =>
        Run(["db", "init", "--config", ConfigFile, "--data-dir", Path.Combine(Root, "db-init")]);

    /// <summary>How a process of this harness starts: in the namespace, as the user, with umask 000.</summary>
    IReadOnlyList<string> Prefix(string? user)
    {
        var prefix = new List<string>(_prefix ?? []);
        if (user != null) prefix.AddRange(["runuser", "-u", user, "--"]);
        prefix.AddRange(["bash", "-c", "umask 000; export HOME=/tmp DOTNET_CLI_HOME=/tmp; exec \"$0\" \"$@\""]);
        return prefix;
    }

    ActorLabCli.Result Run(string[] args)
    {
        using var p = new ActorLabProcess(ActorLabCli.StartInfo(args, Prefix(null)));
        var code = p.WaitForExit(Limit);
        var lines = p.Lines;
        return new ActorLabCli.Result(code, string.Join("\n", lines.Where(l => !l.StartsWith("stderr: "))),
            string.Join("\n", lines.Where(l => l.StartsWith("stderr: ")).Select(l => l["stderr: ".Length..])));
    }

    public void UseSeeds(params string[] nodes) => Seeds = nodes.Select(n => _nodes[n].Contact).ToList();

    public void Define(NodeSpec spec) => _nodes[spec.Name] = spec;

    /// <summary>Starts (or restarts) a node and waits until it has joined.</summary>
    /// <param name="extra">More `actorlab node` flags (e.g. `--http-port 0`).</param>
    public ActorLabProcess Start(string name, params string[] extra)
    {
        var n = _nodes[name];
        if (_running.TryGetValue(name, out var old)) old.Dispose();
        var args = new List<string>
        {
            "node", "--config", ConfigFile, "--data-dir", DataDir(name), "--storage-root", Storage, "--hostname", n.Host,
            "--port", n.Port.ToString(CultureInfo.InvariantCulture), "--roles", n.Roles, "--slots", n.Slots.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var s in Seeds) args.AddRange(["--seed", s]);
        args.AddRange(extra);
        var p = new ActorLabProcess(ActorLabCli.StartInfo(args, Prefix(n.User)));
        _running[name] = p;
        p.WaitForLine(l => l.StartsWith("control it with", StringComparison.Ordinal), Limit);
        return p;
    }

    public void Kill9(string name) => _running[name].Kill9();

    /// <summary>`actorlab console --contact (every coordinator-role node) VERB`.</summary>
    public ActorLabCli.Result Console(params string[] verb) => Run(["console", "--contact", Contacts, .. verb]);

    public static JsonElement Json(string output) => JsonDocument.Parse(output[output.IndexOf('{')..]).RootElement;

    /// <summary>Console `VERB --json` until it answers and <paramref name="done"/> holds.</summary>
    public JsonElement WaitFor(Func<JsonElement, bool> done, TimeSpan timeout, params string[] verb)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var r = Console([.. verb, "--json"]);
            if (r.Exit == 0 && done(Json(r.Out))) return Json(r.Out);
            if (DateTime.UtcNow > until) throw new TimeoutException($"console {string.Join(' ', verb)} never matched:\n{r.Out}\n{r.Err}");
            Thread.Sleep(300);
        }
    }

    public static IEnumerable<JsonElement> Runs(JsonElement runsReply) => runsReply.GetProperty("runs").EnumerateArray();

    public void Dispose()
    {
        foreach (var p in _running.Values) p.Dispose();
        // ACTORLAB_KEEP_TEST_DIRS=1 keeps the nodes' logs and files for a look after a failure
        if (Environment.GetEnvironmentVariable("ACTORLAB_KEEP_TEST_DIRS") == "1") return;
        try { Directory.Delete(Root, true); } catch { /* best effort */ }
    }
}
