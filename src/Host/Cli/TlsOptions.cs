using System.CommandLine;
using Akka.Configuration;
using ActorLab.Actors.Config;
using ActorLab.Model.Common;

namespace ActorLab.Host.Cli;

/// <summary>The TLS flags of `actorlab node` and `actorlab console`, over `actorlab.tls`.</summary>
internal sealed class TlsOptions(bool recursive = false)
{
    public readonly Option<string?> Ca = new("--tls-ca") { Description = "The cluster CA certificate (ca.crt of `actorlab certs init`); goes with --tls-certificate.", Recursive = recursive };
    public readonly Option<string?> Certificate = new("--tls-certificate") { Description = "This process's .pfx (of `actorlab certs issue`): turns on mutual TLS.", Recursive = recursive };
    public readonly Option<string?> PasswordFile = new("--tls-password-file") { Description = "The .pfx password's file (default: the certificate's name with .password).", Recursive = recursive };

    public void AddTo(Command c)
    {
        c.Options.Add(Ca);
        c.Options.Add(Certificate);
        c.Options.Add(PasswordFile);
    }

    /// <summary>The flags as `actorlab.tls` HOCON (paths quoted, never spliced); "" when none is given.</summary>
    public string Hocon(ParseResult pr) => Hocon(pr.GetValue(Ca), pr.GetValue(Certificate), pr.GetValue(PasswordFile));

    static string Hocon(string? ca, string? cert, string? password)
    {
        if (cert == null && (ca != null || password != null))
            throw new UserInputException($"{(ca != null ? "--tls-ca" : "--tls-password-file")} goes with --tls-certificate.");
        if (cert == null) return "";
        if (ca == null) throw new UserInputException("--tls-certificate goes with --tls-ca (the cluster CA that peers' certificates must chain to).");
        var lines = new List<string>
        {
            "actorlab.tls.enabled = on",
            $"actorlab.tls.ca = {HoconText.Quote(Path.GetFullPath(ca))}",
            $"actorlab.tls.certificate = {HoconText.Quote(Path.GetFullPath(cert))}",
        };
        if (password != null) lines.Add($"actorlab.tls.password-file = {HoconText.Quote(Path.GetFullPath(password))}");
        return string.Join("\n", lines) + "\n";
    }

    /// <summary>
    /// For a process without --config (the console, whose verbs are built apart from its options): the flags, found by
    /// name, over the defaults.
    /// </summary>
    public static TlsSettings Settings(ParseResult pr) =>
        TlsSettings.From(ConfigurationFactory.ParseString(Hocon(pr.GetValue<string?>("--tls-ca"), pr.GetValue<string?>("--tls-certificate"),
            pr.GetValue<string?>("--tls-password-file"))).WithFallback(ActorLabConfig.Defaults));
}
