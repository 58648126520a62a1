using System.Diagnostics;

namespace ActorLab.Host.Tests.Infrastructure;

/// <summary>
/// A network namespace of the test's own (`ip netns`, loopback up), where nftables rules can cut one 127.0.0.x
/// address off from the others without touching the machine's network. Needs root, iproute2 and nftables; where
/// they are missing (a laptop) the test skips with that reason, and with ACTORLAB_REQUIRE_NETNS=1 (CI) it fails.
/// </summary>
public sealed class NetworkNamespace : IDisposable
{
    public string Name { get; }
    string? _pgDir;

    NetworkNamespace(string name) => Name = name;

    public static NetworkNamespace Create()
    {
        var why = Environment.UserName != "root" ? "needs root (ip netns)"
            : !File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") ? "needs iproute2 (ip)"
            : !File.Exists("/usr/sbin/nft") ? "needs nftables (apt-get install nftables)" : null;
        if (why != null)
        {
            if (Environment.GetEnvironmentVariable("ACTORLAB_REQUIRE_NETNS") == "1") throw new InvalidOperationException($"partition test {why}");
            Skip.If(true, why);
        }
        var ns = new NetworkNamespace("actorlab-" + Guid.NewGuid().ToString("N")[..8]);
        Run("ip", "netns", "add", ns.Name);
        ns.Exec("ip", "link", "set", "lo", "up");
        return ns;
    }

    public void Exec(params string[] command) => Run(["ip", "netns", "exec", Name, .. command]);

    /// <summary>A PostgreSQL inside the namespace (the nodes cannot reach one outside); returns its connection string.</summary>
    public string StartPostgres()
    {
        _pgDir = Path.Combine(Path.GetTempPath(), $"actorlab-netns-pg-{Name}");
        return Run("ip", "netns", "exec", Name, "bash", Repo.File("build/postgres.sh"), "start", _pgDir).Trim();
    }

    /// <summary>
    /// Cuts a node off: drops every packet its process sends (it runs as <paramref name="uid"/>) and every packet
    /// sent to its listening port. On a shared loopback its outgoing connections carry no address of its own, so
    /// the sending user is what tells them apart.
    /// </summary>
    public void Cut(int uid, int port)
    {
        var rules = Path.Combine(Path.GetTempPath(), $"{Name}.nft");
        File.WriteAllText(rules, $$"""
            table inet actorlab_partition {
              chain output {
                type filter hook output priority 0; policy accept;
                meta skuid {{uid}} drop
                tcp dport {{port}} drop
              }
            }
            """);
        Exec("nft", "-f", rules);
    }

    public void Heal() => Exec("nft", "delete", "table", "inet", "actorlab_partition");

    static string Run(params string[] command)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in command.Skip(1)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{string.Join(' ', command)} failed ({p.ExitCode}): {error}");
        return output;
    }

    public void Dispose()
    {
        try
        {
            if (_pgDir != null) Run("ip", "netns", "exec", Name, "bash", Repo.File("build/postgres.sh"), "stop", _pgDir);
        }
        catch { /* best effort */ }
        try { Run("ip", "netns", "delete", Name); } catch { /* best effort */ }
    }
}
