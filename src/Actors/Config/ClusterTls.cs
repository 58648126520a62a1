using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;
using ActorLab.Model.Common;
using AkkaConfig = Akka.Configuration.Config;

namespace ActorLab.Actors.Config;

/// <summary>
/// Mutual TLS between ActorLab processes: each side presents its certificate and accepts the other's only if it
/// chains to the cluster's own CA. The system trust store is never consulted (a certificate any public CA signed
/// is no member of this cluster), and host names are not checked (nodes are addressed by IP).
/// </summary>
public sealed class ClusterTls
{
    public const string Hocon = "akka.remote.dot-netty.tcp.enable-ssl = true";

    /// <summary>The address scheme of a peer: Akka names TLS addresses akka.ssl.tcp://, and a seed or contact must match.</summary>
    public static string Scheme(ClusterTls? tls) => tls == null ? "akka.tcp" : "akka.ssl.tcp";

    public X509Certificate2 Ca { get; }
    public X509Certificate2 Certificate { get; }
    /// <summary>Why the last peer was refused (for a console's "no answer" message); null if none was.</summary>
    public string? LastRefusal { get; private set; }

    ClusterTls(X509Certificate2 ca, X509Certificate2 certificate)
    {
        Ca = ca;
        Certificate = certificate;
    }

    public static ClusterTls Load(string caPath, string certificatePath, string password)
    {
        X509Certificate2 ca, cert;
        try { ca = X509CertificateLoader.LoadCertificateFromFile(caPath); }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"cannot read the cluster CA certificate '{caPath}': {e.Message}");
        }
        try { cert = X509CertificateLoader.LoadPkcs12FromFile(certificatePath, password, X509KeyStorageFlags.EphemeralKeySet); }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"cannot read the TLS certificate '{certificatePath}' (wrong password file?): {e.Message}");
        }
        if (!cert.HasPrivateKey) throw new UserInputException($"the TLS certificate '{certificatePath}' holds no private key.");
        // one's own certificate from another CA would only be refused by every peer: say so here instead
        if (Refusal(cert, ca) is { } why)
            throw new UserInputException($"the TLS certificate '{certificatePath}' is not one of the cluster CA '{caPath}': {why}.");
        return new ClusterTls(ca, cert);
    }

    /// <summary>From certificates already loaded (tests, tools): the same checks as <see cref="Load"/>.</summary>
    public static ClusterTls FromCertificates(X509Certificate2 ca, X509Certificate2 certificate)
    {
        if (!certificate.HasPrivateKey) throw new UserInputException($"the TLS certificate '{certificate.Subject}' holds no private key.");
        if (Refusal(certificate, ca) is { } why) throw new UserInputException($"the TLS certificate is not one of the cluster CA: {why}.");
        return new ClusterTls(ca, certificate);
    }

    /// <summary>Null when the peer's certificate chains to the cluster CA; else why not.</summary>
    public static string? Refusal(X509Certificate2? peer, X509Certificate2 ca)
    {
        if (peer == null) return "it presented no certificate";
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // the cluster CA publishes no revocation list
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (chain.Build(peer)) return null;
        var status = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        return $"'{peer.Subject}' (issued by '{peer.Issuer}') does not chain to the cluster CA '{ca.Subject}'{(status.Length > 0 ? $" ({status})" : "")}";
    }

    /// <summary>The actor system's setup: this configuration (with <see cref="Hocon"/>) and the TLS certificates.</summary>
    public ActorSystemSetup Bootstrap(AkkaConfig config) =>
        BootstrapSetup.Create().WithConfig(Akka.Configuration.ConfigurationFactory.ParseString(Hocon).WithFallback(config))
            .And(new DotNettySslSetup(Certificate, suppressValidation: false, requireMutualAuthentication: true, validateCertificateHostname: false, Validate));

    // the handshake's own verdict (errors) is ignored: it is against the system store; ours is against the cluster CA
    bool Validate(X509Certificate2? peer, X509Chain? chain, string remotePeer, SslPolicyErrors errors, ILoggingAdapter log)
    {
        if (Refusal(peer, Ca) is not { } why) return true;
        LastRefusal = $"refused the TLS peer {remotePeer}: {why}";
        log.Warning("TLS: {0}", LastRefusal);
        return false;
    }
}
