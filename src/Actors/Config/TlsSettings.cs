using ActorLab.Model.Common;
using AkkaConfig = Akka.Configuration.Config;

namespace ActorLab.Actors.Config;

/// <summary>
/// `actorlab.tls`: mutual TLS on Akka remoting. Paths and the password come from the config file, flags or the
/// environment (never from a sweep file); the password itself is never written in HOCON.
/// </summary>
public sealed record TlsSettings(bool Enabled, string Ca, string Certificate, string PasswordFile, string PasswordEnv)
{
    public static TlsSettings From(AkkaConfig config, string? source = null)
    {
        var v = new ConfigValues(config, source);
        var s = new TlsSettings(v.Bool("actorlab.tls.enabled"), v.String("actorlab.tls.ca"), v.String("actorlab.tls.certificate"),
            v.String("actorlab.tls.password-file"), v.String("actorlab.tls.password-env"));
        if (!s.Enabled) return s;
        if (string.IsNullOrWhiteSpace(s.Ca))
            throw v.Error("actorlab.tls.ca", "must name the cluster CA certificate (ca.crt of `actorlab certs init`) when TLS is on");
        if (string.IsNullOrWhiteSpace(s.Certificate))
            throw v.Error("actorlab.tls.certificate", "must name this process's .pfx (of `actorlab certs issue`) when TLS is on");
        return s;
    }

    /// <summary>The password file: as set, or the one `actorlab certs issue` writes beside the certificate.</summary>
    public string PasswordPath => PasswordFile.Length > 0 ? PasswordFile : PasswordBeside(Certificate);

    /// <summary>Where `actorlab certs issue` writes a .pfx's password: beside it, NAME.password.</summary>
    public static string PasswordBeside(string pfx) => Path.ChangeExtension(pfx, ".password");

    /// <summary>The certificates, read now; null when TLS is off. Every unreadable file is an error naming it.</summary>
    public ClusterTls? Load()
    {
        if (!Enabled) return null;
        if (!File.Exists(Ca)) throw new UserInputException($"the cluster CA certificate '{Ca}' does not exist (actorlab.tls.ca, --tls-ca).");
        if (!File.Exists(Certificate)) throw new UserInputException($"the TLS certificate '{Certificate}' does not exist (actorlab.tls.certificate, --tls-certificate).");
        var env = PasswordEnv.Length > 0 ? Environment.GetEnvironmentVariable(PasswordEnv) : null;
        string password;
        if (!string.IsNullOrEmpty(env)) password = env;
        else
        {
            if (!File.Exists(PasswordPath))
                throw new UserInputException($"TLS password file '{PasswordPath}' does not exist (set actorlab.tls.password-file or --tls-password-file{(PasswordEnv.Length > 0 ? $", or ${PasswordEnv}" : "")}).");
            password = File.ReadAllText(PasswordPath).Trim();
        }
        return ClusterTls.Load(Ca, Certificate, password);
    }
}
