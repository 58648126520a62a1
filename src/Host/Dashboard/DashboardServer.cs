using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorLab.Actors.Config;
using Akka.Actor;
using ActorLab.Host.Composition;
using ActorLab.Model.Common;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ActorLab.Host.Dashboard;

/// <summary>Where the dashboard listens: `--http-port`, `--http-bind` and `--https-certificate` of `actorlab node`.</summary>
public sealed record DashboardEndpoint(IPAddress Bind, int Port, X509Certificate2? Certificate = null)
{
    /// <summary>
    /// Loopback by default; an address other machines reach needs HTTPS (`--https-certificate`) or `--insecure`, the
    /// rule of the node's own --hostname (TLS or --insecure): the page carries operator sessions and their buttons.
    /// </summary>
    public static DashboardEndpoint Parse(string? bind, int port, bool insecure, string? certificate = null, string? passwordFile = null)
    {
        if (port is < 0 or > 65535) throw new UserInputException($"--http-port must be 0..65535, got {port}.");
        var text = bind ?? "127.0.0.1";
        IPAddress address;
        if (text.Equals("localhost", StringComparison.OrdinalIgnoreCase)) address = IPAddress.Loopback;
        else if (!IPAddress.TryParse(text, out address!))
            throw new UserInputException($"--http-bind must be an IP address (e.g. 127.0.0.1 or 0.0.0.0), got '{text}'.");
        if (passwordFile != null && certificate == null) throw new UserInputException("--https-password-file goes with --https-certificate.");
        var cert = certificate is null ? null : LoadCertificate(certificate, passwordFile);
        if (!IPAddress.IsLoopback(address) && cert is null && !insecure)
            throw new UserInputException(
                $"--http-bind {text} can be reached from other machines, and without --https-certificate the dashboard speaks plain HTTP (operator sessions, " +
                "pause/cancel buttons): serve HTTPS (--https-certificate PFX, e.g. `actorlab certs issue --node NAME --san HOST`), keep it on loopback " +
                "(reach it through an SSH tunnel), or pass --insecure on a network you trust entirely.");
        return new DashboardEndpoint(address, port, cert);
    }

    /// <summary>The .pfx the dashboard serves HTTPS with: its password from --https-password-file or the file beside it, a private key, in date.</summary>
    static X509Certificate2 LoadCertificate(string path, string? passwordFile)
    {
        if (!File.Exists(path)) throw new UserInputException($"--https-certificate '{path}' does not exist.");
        var pwFile = passwordFile ?? TlsSettings.PasswordBeside(path);
        if (passwordFile != null && !File.Exists(passwordFile)) throw new UserInputException($"--https-password-file '{passwordFile}' does not exist.");
        var password = File.Exists(pwFile) ? File.ReadAllText(pwFile).Trim() : "";
        X509Certificate2 cert;
        try { cert = X509CertificateLoader.LoadPkcs12FromFile(path, password, X509KeyStorageFlags.EphemeralKeySet); }
        catch (CryptographicException e)
        {
            throw new UserInputException($"--https-certificate '{path}' cannot be read as a .pfx with the password in '{pwFile}' ({e.Message.TrimEnd('.')}): " +
                                         "give the right --https-password-file, or a .pfx of `actorlab certs issue`.");
        }
        if (!cert.HasPrivateKey) throw new UserInputException($"--https-certificate '{path}' holds no private key: a server needs its key (a .pfx, not a .crt).");
        var now = DateTime.Now;
        if (now > cert.NotAfter || now < cert.NotBefore)
            throw new UserInputException($"--https-certificate '{path}' is valid {cert.NotBefore:yyyy-MM-dd} to {cert.NotAfter:yyyy-MM-dd}, not now: issue a new one.");
        return cert;
    }
}

/// <summary>
/// The dashboard of `actorlab node --http-port P`: ASP.NET Core (Kestrel) in the node's process, the page and its
/// script embedded in this assembly, everything read through the console gateways (<see cref="DashboardGateway"/>)
/// and the shared storage root. Dispose stops it.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    readonly WebApplication _app;

    DashboardServer(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>Where a browser opens it (the real port when started on port 0).</summary>
    public Uri Url { get; }

    public static DashboardServer Start(ActorLabNode node, DashboardEndpoint endpoint, TimeSpan? askTimeout = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(endpoint.Bind, endpoint.Port, listen =>
        {
            if (endpoint.Certificate is { } cert) listen.UseHttps(cert);
        }));
        var app = builder.Build();
        var timeout = askTimeout ?? node.System.Settings.Config.GetTimeSpan("actorlab.console.ask-timeout", TimeSpan.FromSeconds(10));
        var gateway = new DashboardGateway(node.System, timeout);
        DashboardApi.Map(app, gateway, new DashboardSessions(), new RunConfigs(node.Storage.Storage));
        try { app.StartAsync().GetAwaiter().GetResult(); }
        catch (IOException e)
        {
            throw new UserInputException($"cannot listen on {endpoint.Bind}:{endpoint.Port} for the dashboard: {e.Message} (is another process using that port?)");
        }
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var url = new Uri(bound.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "[::1]", StringComparison.Ordinal) + "/");
        return new DashboardServer(app, url);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
