using ActorLab.Host.Composition;
using ActorLab.Host.Tests.Infrastructure;

namespace ActorLab.Host.Tests.Actors;

/// <summary>Loopback by default: a node bound where other machines reach it, without TLS, starts only with --insecure.</summary>
public class NetworkExposureTests
{
    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.0.0.3", true)]
    [InlineData("::1", true)]
    [InlineData("localhost", true)]
    [InlineData("0.0.0.0", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("head", false)]
    public void Loopback_is_127_8_localhost_and_ipv6_one(string host, bool loopback) =>
        Assert.Equal(loopback, ActorLabNode.IsLoopback(host));

    [Fact]
    public void A_node_on_all_interfaces_without_tls_is_refused_and_starts_with_insecure()
    {
        using var dir = new TempDir();
        var refused = ActorLabCli.Run("node", "--data-dir", Path.Combine(dir.Path, "a"), "--hostname", "0.0.0.0", "--port", "0");
        Assert.NotEqual(0, refused.Exit);
        Assert.Contains("--hostname 0.0.0.0 can be reached from other machines", refused.Err);
        Assert.Contains("--insecure", refused.Err);

        using var node = new ActorLabProcess("node", "--data-dir", Path.Combine(dir.Path, "b"), "--hostname", "0.0.0.0", "--public-hostname", "127.0.0.1",
            "--port", "0", "--insecure");
        node.WaitForLine(l => l.StartsWith("node listening on", StringComparison.Ordinal), TimeSpan.FromMinutes(1));
    }
}
