using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using ActorLab.Model.Common;

namespace ActorLab.Host.Security;

/// <summary>
/// The cluster's own certificate authority, in one folder: ca.crt (public, copied to every node and console),
/// ca.key (private, stays here) and the issued node-NAME.pfx / console-NAME.pfx with their .password files.
/// Private keys and passwords are written 0600 from the start, each file via a temp file and a rename.
/// </summary>
public static partial class ClusterCertificates
{
    public const string CaCertificate = "ca.crt";
    public const string CaKey = "ca.key";
    const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    const UnixFileMode Public = Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    static readonly TimeSpan CaLifetime = TimeSpan.FromDays(3650);
    static readonly TimeSpan CertificateLifetime = TimeSpan.FromDays(825);

    /// <summary>Makes a new self-signed CA in <paramref name="dir"/>; an existing one is never replaced.</summary>
    public static string Init(string dir)
    {
        dir = Path.GetFullPath(dir);
        foreach (var name in new[] { CaCertificate, CaKey })
            if (File.Exists(Path.Combine(dir, name)))
                throw new UserInputException($"'{Path.Combine(dir, name)}' exists: refusing to replace the cluster CA (every certificate it issued " +
                                             "would stop working). Use another --dir, or delete the old CA first.");
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(dir);
        else if (!Directory.Exists(dir)) Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=ActorLab cluster CA {DateTime.UtcNow:yyyy-MM-dd} {Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true)); // signs leaf certificates only
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var ca = request.CreateSelfSigned(now.AddMinutes(-5), now + CaLifetime);
        // the key first: a ca.crt without its key would look like a CA that cannot issue
        AtomicFile.Write(Path.Combine(dir, CaKey), s => Write(s, key.ExportPkcs8PrivateKeyPem()), Private);
        AtomicFile.Write(Path.Combine(dir, CaCertificate), s => Write(s, ca.ExportCertificatePem()), Public);
        return Path.Combine(dir, CaCertificate);
    }

    /// <summary>A node's or console's certificate signed by the CA in <paramref name="dir"/>: (the .pfx, its password file).</summary>
    /// <param name="altNames">DNS names and IP addresses the certificate is valid for (its subjectAltName): what a
    /// browser checks when the dashboard serves HTTPS with it (`--https-certificate`). Remoting checks only the CA.</param>
    public static (string Pfx, string PasswordFile) Issue(string dir, string kind, string name, IReadOnlyList<string>? altNames = null)
    {
        var sans = AltNames(altNames ?? []);
        dir = Path.GetFullPath(dir);
        if (!NamePattern().IsMatch(name))
            throw new UserInputException($"--{kind} '{name}': a name is 1-64 letters, digits, '.', '-' or '_'.");
        var caCrt = Path.Combine(dir, CaCertificate);
        var caKey = Path.Combine(dir, CaKey);
        if (!File.Exists(caCrt) || !File.Exists(caKey))
            throw new UserInputException($"no cluster CA in '{dir}' ({CaCertificate} and {CaKey}): make one with `actorlab certs init --dir {dir}`.");
        var pfx = Path.Combine(dir, $"{kind}-{name}.pfx");
        var passwordFile = Path.ChangeExtension(pfx, ".password");
        if (File.Exists(pfx))
            throw new UserInputException($"'{pfx}' exists: refusing to replace it (delete it first to issue a new one).");
        X509Certificate2 ca;
        try { ca = X509Certificate2.CreateFromPemFile(caCrt, caKey); }
        catch (CryptographicException e) { throw new UserInputException($"cannot read the cluster CA '{caCrt}' with '{caKey}': {e.Message}"); }
        using (ca)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={name}, OU=actorlab-{kind}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            // both ends of a remoting connection: a node or console both dials and accepts
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
            if (sans != null) request.CertificateExtensions.Add(sans);
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
            var now = DateTimeOffset.UtcNow;
            var notAfter = now + CertificateLifetime < ca.NotAfter ? now + CertificateLifetime : new DateTimeOffset(ca.NotAfter.ToUniversalTime());
            using var signed = request.Create(ca, now.AddMinutes(-5), notAfter, RandomNumberGenerator.GetBytes(16));
            using var withKey = signed.CopyWithPrivateKey(key);
            var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
            var bytes = withKey.ExportPkcs12(Pkcs12ExportPbeParameters.Pbes2Aes256Sha256, password);
            AtomicFile.Write(passwordFile, s => Write(s, password + "\n"), Private);
            AtomicFile.Write(pfx, s => s.Write(bytes), Private);
        }
        return (pfx, passwordFile);
    }

    /// <summary>The subjectAltName of `--san` (IP addresses and DNS names), or null for none; a name that is neither is refused.</summary>
    static X509Extension? AltNames(IReadOnlyList<string> names)
    {
        if (names.Count == 0) return null;
        var b = new SubjectAlternativeNameBuilder();
        foreach (var n in names)
        {
            if (System.Net.IPAddress.TryParse(n, out var ip)) b.AddIpAddress(ip);
            else if (DnsPattern().IsMatch(n)) b.AddDnsName(n);
            else throw new UserInputException($"--san '{n}': not an IP address or a DNS name (letters, digits, '-', '.', a leading '*.').");
        }
        return b.Build();
    }

    [GeneratedRegex(@"^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")]
    private static partial Regex DnsPattern();

    static void Write(Stream s, string text) => s.Write(System.Text.Encoding.ASCII.GetBytes(text));

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex NamePattern();
}
