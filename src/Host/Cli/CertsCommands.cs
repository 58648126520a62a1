using System.CommandLine;
using ActorLab.Host.Security;
using ActorLab.Model.Common;

namespace ActorLab.Host.Cli;

/// <summary>`actorlab certs init|issue`: the cluster's own CA and the certificates of its nodes and consoles (mutual TLS).</summary>
public static class CertsCommands
{
    public static Command Build()
    {
        var dir = new Option<string>("--dir") { Description = "The CA's folder (ca.crt, ca.key and the issued certificates).", Required = true, Recursive = true };
        var init = new Command("init", "Make the cluster's own certificate authority in --dir (refuses to replace an existing one).");
        init.SetAction(pr =>
        {
            var ca = ClusterCertificates.Init(pr.GetValue(dir)!);
            Console.WriteLine($"cluster CA written: {ca} (copy it to every node and console) and {ClusterCertificates.CaKey} (keep it here, private)");
            return 0;
        });
        var node = new Option<string?>("--node") { Description = "Issue a node certificate with this name." };
        var console = new Option<string?>("--console") { Description = "Issue a console certificate with this name." };
        var san = new Option<string[]>("--san")
        {
            Description = "A DNS name or IP address the certificate is for (repeatable or comma-separated): needed for the dashboard's HTTPS (`node --https-certificate`), which browsers check by name.",
            AllowMultipleArgumentsPerToken = false,
        };
        var issue = new Command("issue", "Issue a node's or console's certificate signed by the CA in --dir: NAME.pfx and its NAME.password (both 0600).") { node, console, san };
        issue.SetAction(pr =>
        {
            var (n, c) = (pr.GetValue(node), pr.GetValue(console));
            if ((n == null) == (c == null)) throw new UserInputException("give one of --node NAME or --console NAME.");
            var sans = (pr.GetValue(san) ?? []).SelectMany(x => x.Split(',', StringSplitOptions.TrimEntries)).ToList();
            if (sans.Any(x => x.Length == 0)) throw new UserInputException("--san: an empty name (a stray comma?).");
            var (pfx, password) = n != null ? ClusterCertificates.Issue(pr.GetValue(dir)!, "node", n, sans) : ClusterCertificates.Issue(pr.GetValue(dir)!, "console", c!, sans);
            Console.WriteLine($"issued {pfx} (password in {password}); use it with --tls-certificate {pfx} --tls-ca {Path.Combine(Path.GetFullPath(pr.GetValue(dir)!), ClusterCertificates.CaCertificate)}");
            return 0;
        });
        return new Command("certs", "The cluster's certificate authority for mutual TLS between nodes and consoles (see docs/cluster.md, TLS).") { dir, init, issue };
    }
}
