using System.Security.Cryptography.X509Certificates;
using Akka.Configuration;
using ActorLab.Actors.Config;
using ActorLab.Host.Security;
using ActorLab.Model.Common;

namespace ActorLab.Host.Tests.Security;

/// <summary>`actorlab certs init|issue`: certificates that chain to the cluster CA only, private files 0600, no CA replaced.</summary>
public class ClusterCertificatesTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "actorlab-certs-" + Guid.NewGuid().ToString("N")[..8]);
    const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch { /* best effort */ }
    }

    static X509Certificate2 Ca(string dir) => X509CertificateLoader.LoadCertificateFromFile(Path.Combine(dir, ClusterCertificates.CaCertificate));

    static X509Certificate2 Pfx((string Pfx, string PasswordFile) issued) =>
        X509CertificateLoader.LoadPkcs12FromFile(issued.Pfx, File.ReadAllText(issued.PasswordFile).Trim());

    [Fact]
    public void Issued_certificates_chain_to_their_CA_only_and_private_files_are_0600()
    {
        var ca = Path.Combine(_dir, "ca");
        ClusterCertificates.Init(ca);
        var node = ClusterCertificates.Issue(ca, "node", "a");
        var console = ClusterCertificates.Issue(ca, "console", "alice");
        Assert.EndsWith("node-a.pfx", node.Pfx);
        Assert.EndsWith("console-alice.password", console.PasswordFile);
        foreach (var f in new[] { Path.Combine(ca, ClusterCertificates.CaKey), node.Pfx, node.PasswordFile, console.Pfx, console.PasswordFile })
            Assert.Equal(Private, File.GetUnixFileMode(f));
        Assert.Empty(Directory.GetFiles(ca, "*.tmp")); // written via temp file and rename, nothing left behind

        using var cert = Pfx(node);
        Assert.True(cert.HasPrivateKey);
        Assert.Null(ClusterTls.Refusal(cert, Ca(ca)));
        Assert.Null(ClusterTls.Refusal(Pfx(console), Ca(ca)));

        var other = Path.Combine(_dir, "other");
        ClusterCertificates.Init(other);
        var why = ClusterTls.Refusal(cert, Ca(other));
        Assert.NotNull(why);
        Assert.Contains("does not chain to the cluster CA", why);
        Assert.Contains("CN=a", why);
        // the .pfx and the CA load the way a node loads them
        Assert.NotNull(ClusterTls.Load(Path.Combine(ca, ClusterCertificates.CaCertificate), node.Pfx, File.ReadAllText(node.PasswordFile).Trim()));
        var e = Assert.Throws<UserInputException>(() => ClusterTls.Load(Path.Combine(other, ClusterCertificates.CaCertificate), node.Pfx,
            File.ReadAllText(node.PasswordFile).Trim()));
        Assert.Contains("is not one of the cluster CA", e.Message);
        e = Assert.Throws<UserInputException>(() => ClusterTls.Load(Path.Combine(ca, ClusterCertificates.CaCertificate), node.Pfx, "wrong"));
        Assert.Contains(node.Pfx, e.Message);
    }

    [Fact]
    public void San_names_land_in_the_certificate_and_a_name_that_is_neither_address_nor_dns_is_refused()
    {
        var ca = Path.Combine(_dir, "ca");
        ClusterCertificates.Init(ca);
        using var cert = Pfx(ClusterCertificates.Issue(ca, "node", "head-1", ["head-1.lab.example", "10.0.0.5", "::1"]));
        var san = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["head-1.lab.example"], san.EnumerateDnsNames().ToArray());
        Assert.Equal(["10.0.0.5", "::1"], san.EnumerateIPAddresses().Select(a => a.ToString()).ToArray());
        using var plain = Pfx(ClusterCertificates.Issue(ca, "node", "plain"));
        Assert.Empty(plain.Extensions.OfType<X509SubjectAlternativeNameExtension>());

        var e = Assert.Throws<UserInputException>(() => ClusterCertificates.Issue(ca, "node", "bad", ["a b"]));
        Assert.Contains("--san 'a b'", e.Message);
        Assert.False(File.Exists(Path.Combine(ca, "node-bad.pfx")));
    }

    [Fact]
    public void An_existing_CA_or_certificate_is_never_replaced()
    {
        var ca = Path.Combine(_dir, "ca");
        ClusterCertificates.Init(ca);
        var before = File.ReadAllBytes(Path.Combine(ca, ClusterCertificates.CaKey));
        var e = Assert.Throws<UserInputException>(() => ClusterCertificates.Init(ca));
        Assert.Contains(Path.Combine(ca, ClusterCertificates.CaCertificate), e.Message);
        Assert.Contains("refusing to replace the cluster CA", e.Message);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(ca, ClusterCertificates.CaKey)));

        ClusterCertificates.Issue(ca, "node", "a");
        e = Assert.Throws<UserInputException>(() => ClusterCertificates.Issue(ca, "node", "a"));
        Assert.Contains("node-a.pfx", e.Message);
        e = Assert.Throws<UserInputException>(() => ClusterCertificates.Issue(ca, "node", "../x"));
        Assert.Contains("--node '../x'", e.Message);
        e = Assert.Throws<UserInputException>(() => ClusterCertificates.Issue(Path.Combine(_dir, "none"), "console", "c"));
        Assert.Contains("actorlab certs init", e.Message);
    }

    [Fact]
    public void Tls_settings_name_the_missing_key()
    {
        var on = ConfigurationFactory.ParseString("actorlab.tls.enabled = on").WithFallback(ActorLabConfig.Defaults);
        var e = Assert.Throws<UserInputException>(() => TlsSettings.From(on, "x.conf"));
        Assert.Contains("x.conf: actorlab.tls.ca", e.Message);
        var file = Path.Combine(_dir, "x.conf");
        Directory.CreateDirectory(_dir);
        File.WriteAllText(file, "actorlab.tls { enabled = on, ca = \"/c\", certificat = \"/p\" }");
        e = Assert.Throws<UserInputException>(() => ActorLabConfig.Build(_dir, file));
        Assert.Contains("actorlab.tls.certificat: unknown key", e.Message);
        Assert.False(TlsSettings.From(ActorLabConfig.Defaults).Enabled);
        Assert.Null(TlsSettings.From(ActorLabConfig.Defaults).Load());
        var s = TlsSettings.From(ConfigurationFactory.ParseString("actorlab.tls { enabled = on, ca = \"/c/ca.crt\", certificate = \"/c/node-a.pfx\" }")
            .WithFallback(ActorLabConfig.Defaults));
        Assert.Equal("/c/node-a.password", s.PasswordPath);
    }
}
