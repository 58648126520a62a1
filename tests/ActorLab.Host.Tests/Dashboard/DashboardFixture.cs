using System.Net;
using ActorLab.Actors.Control;
using ActorLab.Actors.Gateway;
using ActorLab.Host.Dashboard;
using ActorLab.Host.Tests.Infrastructure;

namespace ActorLab.Host.Tests.Dashboard;

/// <summary>
/// A one-node cluster with operator tokens (ann: operator, bob: read-only, from `actorlab token issue`), its
/// dashboard on a free loopback port, and a tiny stand-in sweep (4 runs, 2 slots) still training.
/// </summary>
public sealed class DashboardFixture : IAsyncDisposable
{
    public const string SweepName = "dash";

    public static string Sweep(int runs, long steps) => $$"""
        sweep {
          name = {{SweepName}}
          grid { layers = [{{string.Join(", ", Enumerable.Range(1, runs / 2))}}], param-budgets = [330000], relations = [2], n-profiles = [20, 30], orders = [[1]] }
          vocab-size = 400
          batch-size = 4
          seq-len = 64
          max-steps = {{steps}}
          eval.steps = [{{steps / 4}}, {{steps / 2}}, {{steps}}]
          checkpoint.every = 50
        }
        """;

    /// <summary>2 x <paramref name="seeds"/> runs of one model size (N = 20 and 30): a big sweep of small runs.</summary>
    public static string SeededSweep(int seeds, long steps) => $$"""
        sweep {
          name = {{SweepName}}
          grid { layers = [1], param-budgets = [330000], relations = [2], n-profiles = [20, 30], orders = [[1]], seeds = [{{string.Join(", ", Enumerable.Range(0, seeds))}}] }
          vocab-size = 400
          batch-size = 4
          seq-len = 64
          max-steps = {{steps}}
          eval.steps = [{{steps / 2}}, {{steps}}]
          checkpoint.every = 50
        }
        """;

    readonly TempDir _dir;
    public InProcessNode Node { get; }
    public DashboardServer Server { get; }
    public OperatorToken Ann { get; }
    public OperatorToken Bob { get; }
    public string AnnLine { get; }
    public string BobLine { get; }
    public string Contact => $"{Node.Node.Address.Host}:{Node.Node.Address.Port}";

    DashboardFixture(TempDir dir, InProcessNode node, DashboardServer server, string ann, string bob)
    {
        _dir = dir;
        Node = node;
        Server = server;
        AnnLine = File.ReadAllText(ann).Trim();
        BobLine = File.ReadAllText(bob).Trim();
        Ann = OperatorTokens.ForConsole(ann)!;
        Bob = OperatorTokens.ForConsole(bob)!;
    }

    /// <param name="https">Serve HTTPS with this .pfx (its password beside it) instead of plain HTTP.</param>
    /// <param name="sweep">Another sweep file to submit (named <see cref="SweepName"/>) instead of <see cref="Sweep"/>.</param>
    public static async Task<DashboardFixture> Start(int runs = 4, long steps = 4000, TimeSpan? stepTime = null, string? https = null, string? sweep = null)
    {
        var dir = new TempDir();
        var tokens = Path.Combine(dir.Path, "tokens");
        string Issue(string name, string role)
        {
            var file = Path.Combine(dir.Path, name + ".token");
            var r = ActorLabCli.Run("token", "issue", name, "--role", role, "--tokens-file", tokens, "--out", file);
            Assert.True(r.Exit == 0, r.Out + r.Err);
            return file;
        }
        var ann = Issue("ann", "operator");
        var bob = Issue("bob", "read-only");
        var node = InProcessNode.Start(Path.Combine(dir.Path, "data"), TestJournal.Of("sqlite"),
            $"actorlab.gateway.tokens-file = \"{tokens}\"\nactorlab.node.cpu-slots = 2", stepTime: stepTime ?? TimeSpan.FromMilliseconds(25));
        var server = DashboardServer.Start(node.Node, https is null ? new DashboardEndpoint(IPAddress.Loopback, 0) : DashboardEndpoint.Parse("127.0.0.1", 0, false, https));
        var f = new DashboardFixture(dir, node, server, ann, bob);
        var submitted = await node.Ask<CommandReply>(new SubmitSweepFile("dash.conf", sweep ?? Sweep(runs, steps)));
        Assert.True(submitted.Ok, submitted.Message);
        return f;
    }

    /// <summary>What a console with <paramref name="token"/> sees of the sweep (through ClusterClient, not the dashboard).</summary>
    public string ConsoleSweepState(OperatorToken token)
    {
        using var console = ConsoleClient.Connect(Contact, "dashboard-test-console", token: token);
        return console.Ask<StatusReply>(new GetStatus()).Sweeps.Single(s => s.Name == SweepName).State;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await Node.DisposeAsync();
        _dir.Dispose();
    }
}
