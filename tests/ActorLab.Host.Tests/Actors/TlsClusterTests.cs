using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Tools.Client;
using Akka.Configuration;
using Akka.Remote.Transport.DotNetty;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Gateway;
using ActorLab.Host.Security;
using ActorLab.Host.Tests.Infrastructure;

namespace ActorLab.Host.Tests.Actors;

/// <summary>
/// Mutual TLS between real `actorlab node` and `actorlab console` processes on loopback: certificates of the cluster
/// CA get in; a node or console with a certificate of another CA does not, and says so.
/// </summary>
public class TlsClusterTests : IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(1);
    readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    string Authority(string name) => Authority(_dir.Path, name);

    /// <summary>A CA folder DIR/NAME with node certificates a, b and console certificate c.</summary>
    internal static string Authority(string dir, string name)
    {
        var ca = Path.Combine(dir, name);
        ClusterCertificates.Init(ca);
        ClusterCertificates.Issue(ca, "node", "a");
        ClusterCertificates.Issue(ca, "node", "b");
        ClusterCertificates.Issue(ca, "console", "c");
        return ca;
    }

    /// <summary>The node or console flags for certificate WHO (node-a, console-c, ...) of the CA folder.</summary>
    internal static string[] Tls(string ca, string who) =>
        ["--tls-certificate", Path.Combine(ca, who + ".pfx"), "--tls-ca", Path.Combine(ca, ClusterCertificates.CaCertificate)];

    ActorLabProcess Seed(string ca, int port)
    {
        var seed = new ActorLabProcess(["node", "--port", port.ToString(), "--data-dir", Path.Combine(_dir.Path, "seed"), "--slots", "1", .. Tls(ca, "node-a")]);
        seed.WaitForLine(l => l.StartsWith("control it with", StringComparison.Ordinal), Limit);
        return seed;
    }

    string JoinTimeout(string seconds)
    {
        var file = Path.Combine(_dir.Path, "join.conf");
        File.WriteAllText(file, $"actorlab.node.join-timeout = {seconds}");
        return file;
    }

    static (int Code, string Output) Status(int port, string ca, string who) =>
        ActorLabProcess.Run(Limit, ["console", "--contact", $"127.0.0.1:{port}", .. Tls(ca, who), "status", "--json"]);

    static JsonElement Json(string output) => JsonDocument.Parse(output[output.IndexOf('{')..]).RootElement;

    [Fact]
    public void Nodes_and_a_console_of_one_CA_form_a_cluster_over_TLS()
    {
        var ca = Authority("ca");
        var port = ConsoleNodeTests.FreePort();
        using var seed = Seed(ca, port);
        Assert.Contains(seed.Lines, l => l.Contains($"akka.ssl.tcp://actorlab@127.0.0.1:{port}"));
        using var second = new ActorLabProcess(["node", "--port", "0", "--data-dir", Path.Combine(_dir.Path, "b"), "--roles", "trainer", "--slots", "1",
            "--seed", $"127.0.0.1:{port}", .. Tls(ca, "node-b")]);
        second.WaitForLine(l => l.StartsWith("joined the cluster", StringComparison.Ordinal), Limit);

        var until = DateTime.UtcNow + Limit;
        while (true)
        {
            var (code, output) = Status(port, ca, "console-c");
            if (code == 0 && Json(output).GetProperty("members").GetArrayLength() == 2
                          && Json(output).GetProperty("members").EnumerateArray().All(m => m.GetProperty("state").GetString() == "up"))
                break;
            Assert.True(DateTime.UtcNow < until, $"the second node never became an up member:\n{output}\n{second.Output}");
            Thread.Sleep(500);
        }
        // the same cluster without a certificate: the handshake fails, the console gets no answer
        var (plainCode, plain) = ActorLabProcess.Run(Limit, "console", "--contact", $"127.0.0.1:{port}", "status");
        Assert.Equal(2, plainCode);
        Assert.Contains("no ActorLab node answers", plain);
    }

    [Fact]
    public void A_node_or_console_of_another_CA_is_refused()
    {
        var ca = Authority("ca");
        var other = Authority("other");
        var port = ConsoleNodeTests.FreePort();
        using var seed = Seed(ca, port);

        // a console of the other CA: it refuses the node's certificate, and says so
        var (code, output) = Status(port, other, "console-c");
        Assert.Equal(2, code);
        Assert.Contains("refused the TLS peer", output);
        Assert.Contains("does not chain to the cluster CA", output);
        Assert.DoesNotContain("   at ", output);

        // a certificate of the other CA beside this CA's ca.crt is refused before anything is sent
        (code, output) = ActorLabProcess.Run(Limit, ["console", "--contact", $"127.0.0.1:{port}", "--tls-certificate", Path.Combine(other, "console-c.pfx"),
            "--tls-ca", Path.Combine(ca, ClusterCertificates.CaCertificate), "status"]);
        Assert.Equal(2, code);
        Assert.Contains("is not one of the cluster CA", output);

        // a node of the other CA never joins: it exits non-zero, and the seed never lists it
        var (joinCode, joinOutput) = ActorLabProcess.Run(Limit, ["node", "--port", "0", "--data-dir", Path.Combine(_dir.Path, "intruder"), "--roles", "trainer",
            "--seed", $"127.0.0.1:{port}", "--config", JoinTimeout("15s"), .. Tls(other, "node-b")]);
        Assert.Equal(NodeCommandsExitCannotJoin, joinCode);
        // either side may be the first to refuse (the intruder the seed's certificate, the seed the intruder's)
        Assert.True(joinOutput.Contains("refused the TLS peer") || seed.Output.Contains("refused the TLS peer"), joinOutput + "\n--- seed:\n" + seed.Output);
        (code, output) = Status(port, ca, "console-c");
        Assert.True(code == 0, output);
        Assert.Equal(1, Json(output).GetProperty("members").GetArrayLength());
    }

    /// <summary>
    /// The node itself checks a client's certificate: a client that accepts any server and presents a certificate of
    /// another CA (what a patched console could do) gets no answer, and the node logs why.
    /// </summary>
    [Fact]
    public void A_node_refuses_a_client_certificate_of_another_CA()
    {
        var ca = Authority("ca");
        var other = Authority("other");
        var port = ConsoleNodeTests.FreePort();
        using var seed = Seed(ca, port);
        var pfx = Path.Combine(other, "console-c.pfx");
        using var cert = X509CertificateLoader.LoadPkcs12FromFile(pfx, File.ReadAllText(Path.ChangeExtension(pfx, ".password")).Trim());
        var config = ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { port = 0, hostname = "127.0.0.1", enable-ssl = true }
            akka.loglevel = OFF
            akka.cluster.client.establishing-get-contacts-interval = 500ms
            """).WithFallback(ActorLabConfig.Defaults).WithFallback(ClusterClientReceptionist.DefaultConfig());
        var setup = BootstrapSetup.Create().WithConfig(config).And(new DotNettySslSetup(cert, suppressValidation: true, requireMutualAuthentication: true));
        using var system = ActorSystem.Create("rogue", setup);
        var contact = ActorPath.Parse($"akka.ssl.tcp://{ActorLabSystem.Name}@127.0.0.1:{port}/system/receptionist");
        var client = system.ActorOf(ClusterClient.Props(ClusterClientSettings.Create(system).WithInitialContacts(ImmutableHashSet.Create(contact))));
        Assert.ThrowsAny<Exception>(() => client.Ask<StatusReply>(new ClusterClient.Send(ConsoleGateway.Path, new GetStatus(), localAffinity: true),
            TimeSpan.FromSeconds(6)).GetAwaiter().GetResult());
        seed.WaitForLine(l => l.Contains("TLS: refused the TLS peer") && l.Contains("CN=c, OU=actorlab-console"), Limit);
        system.Terminate().Wait(TimeSpan.FromSeconds(5));
    }

    const int NodeCommandsExitCannotJoin = ActorLab.Host.Cli.NodeCommands.ExitCannotJoin;
}
