using Akka.Actor;
using Akka.Cluster.Tools.Client;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Gateway;
using ActorLab.Host.Tests.Infrastructure;
using ActorLab.Model.Common;

namespace ActorLab.Host.Tests.Actors;

/// <summary>
/// A cluster with operator tokens: a console without a token, with a wrong secret, replaying a signed request or
/// sending a stale one is refused with one clear line and nothing is submitted; a read-only token reads but cannot
/// submit; an operator token can. Tokens come from `actorlab token issue` (files 0600).
/// </summary>
public class OperatorTokenTests
{
    const string Sweep = """
        sweep {
          name = signed
          grid { layers = [1], param-budgets = [330000], relations = [2], n-profiles = [20], orders = [[1]] }
          vocab-size = 400
          batch-size = 4
          seq-len = 64
          max-steps = 20
          eval.steps = [20]
          checkpoint.every = 5
        }
        """;

    [Fact]
    public async Task Only_signed_fresh_unreplayed_commands_of_a_known_operator_are_run()
    {
        using var dir = new TempDir();
        var tokens = Path.Combine(dir.Path, "tokens");
        string Issue(string name, string role)
        {
            var file = Path.Combine(dir.Path, name + ".token");
            var r = ActorLabCli.Run("token", "issue", name, "--role", role, "--tokens-file", tokens, "--out", file);
            Assert.True(r.Exit == 0, r.Out + r.Err);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            return file;
        }
        var ann = OperatorTokens.ForConsole(Issue("ann", "operator"))!;
        var bob = OperatorTokens.ForConsole(Issue("bob", "read-only"))!;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokens));

        await using var n = InProcessNode.Start(Path.Combine(dir.Path, "data"), TestJournal.Of("sqlite"), $"actorlab.gateway.tokens-file = \"{tokens}\"");
        var contact = $"{n.Node.Address.Host}:{n.Node.Address.Port}";
        await n.Ask<StatusReply>(new GetStatus()); // the coordinator is up (this process's own actors need no token)

        using (var none = ConsoleClient.Connect(contact, "no-token"))
            Assert.Contains("requires an operator token", Assert.Throws<UserInputException>(() => none.Ask<StatusReply>(new GetStatus())).Message);
        using (var wrong = ConsoleClient.Connect(contact, "wrong", token: ann with { Secret = new byte[32] }))
            Assert.Contains("signature does not match operator 'ann'", Assert.Throws<UserInputException>(() => wrong.Ask<CommandReply>(new SubmitSweepFile("s.conf", Sweep))).Message);
        using (var readOnly = ConsoleClient.Connect(contact, "bob", token: bob))
        {
            Assert.NotNull(readOnly.Ask<StatusReply>(new GetStatus()));
            Assert.Contains("'bob' is read-only", Assert.Throws<UserInputException>(() => readOnly.Ask<CommandReply>(new SubmitSweepFile("s.conf", Sweep))).Message);
        }
        Assert.Empty((await n.Ask<StatusReply>(new GetStatus())).Sweeps);

        using var op = ConsoleClient.Connect(contact, "ann", token: ann);
        // a captured request sent twice, and one issued two minutes ago
        var signed = OperatorTokens.Sign(ann, new PauseSweep(null), DateTimeOffset.UtcNow);
        Assert.IsType<CommandReply>(await op.Client.Ask<object>(new ClusterClient.Send(ConsoleGateway.Path, signed, true), TimeSpan.FromSeconds(10)));
        var replay = await op.Client.Ask<object>(new ClusterClient.Send(ConsoleGateway.Path, signed, true), TimeSpan.FromSeconds(10));
        Assert.Contains("already used once", Assert.IsType<Refused>(replay).Message);
        // the same request at another gateway (another coordinator-role node's, here a second one on this node): the
        // coordinator keeps the one nonce ledger, so it is a replay there too
        var proxy = await n.Node.System.ActorSelection("/user/coordinator-proxy").ResolveOne(TimeSpan.FromSeconds(5));
        var second = n.Node.System.ActorOf(ConsoleGateway.Props(proxy, GatewaySettings.From(n.Node.System.Settings.Config)), "gateway-2");
        ClusterClientReceptionist.Get(n.Node.System).RegisterService(second);
        var elsewhere = await AskUntilRegistered(op, "/user/gateway-2", signed);
        Assert.Contains("already used once", Assert.IsType<Refused>(elsewhere).Message);
        var fresh = OperatorTokens.Sign(ann, new ResumeSweep(null), DateTimeOffset.UtcNow);
        Assert.IsType<CommandReply>(await op.Client.Ask<object>(new ClusterClient.Send("/user/gateway-2", fresh, true), TimeSpan.FromSeconds(10)));
        var stale = OperatorTokens.Sign(ann, new PauseSweep(null), DateTimeOffset.UtcNow - TimeSpan.FromMinutes(2));
        var old = await op.Client.Ask<object>(new ClusterClient.Send(ConsoleGateway.Path, stale, true), TimeSpan.FromSeconds(10));
        Assert.Contains("more than 60 s", Assert.IsType<Refused>(old).Message);

        var submitted = op.Ask<CommandReply>(new SubmitSweepFile("s.conf", Sweep), TimeSpan.FromSeconds(60));
        Assert.True(submitted.Ok, submitted.Message);
        Assert.Equal("signed", Assert.Single((await n.Ask<StatusReply>(new GetStatus())).Sweeps).Name);
    }

    /// <summary>The receptionist learns a new service by gossip: ask until the gateway answers (or 20 s pass).</summary>
    static async Task<object> AskUntilRegistered(ConsoleClient op, string path, SignedRequest signed)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try { return await op.Client.Ask<object>(new ClusterClient.Send(path, signed, true), TimeSpan.FromSeconds(2)); }
            catch (AskTimeoutException) when (DateTime.UtcNow < until) { }
        }
    }
}
