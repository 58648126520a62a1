using System.Net;
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

/// <summary>Where the dashboard listens: `--http-port` and `--http-bind` of `actorlab node`.</summary>
public sealed record DashboardEndpoint(IPAddress Bind, int Port)
{
    /// <summary>
    /// Loopback by default; an address other machines reach is refused unless `--insecure` (the page carries operator
    /// sessions over plain HTTP; HTTPS for the dashboard is not there yet), the rule of the node's own --hostname.
    /// </summary>
    public static DashboardEndpoint Parse(string? bind, int port, bool insecure)
    {
        if (port is < 0 or > 65535) throw new UserInputException($"--http-port must be 0..65535, got {port}.");
        var text = bind ?? "127.0.0.1";
        IPAddress address;
        if (text.Equals("localhost", StringComparison.OrdinalIgnoreCase)) address = IPAddress.Loopback;
        else if (!IPAddress.TryParse(text, out address!))
            throw new UserInputException($"--http-bind must be an IP address (e.g. 127.0.0.1 or 0.0.0.0), got '{text}'.");
        if (!IPAddress.IsLoopback(address) && !insecure)
            throw new UserInputException(
                $"--http-bind {text} can be reached from other machines, and the dashboard speaks plain HTTP (operator sessions, pause/cancel " +
                "buttons): keep it on loopback (reach it through an SSH tunnel) or pass --insecure on a network you trust entirely.");
        return new DashboardEndpoint(address, port);
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
        builder.WebHost.ConfigureKestrel(k => k.Listen(endpoint.Bind, endpoint.Port));
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
