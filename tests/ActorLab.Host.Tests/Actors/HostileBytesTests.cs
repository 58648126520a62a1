using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ActorLab.Host.Tests.Infrastructure;

namespace ActorLab.Host.Tests.Actors;

/// <summary>
/// Hostile input on the remoting port of a real `actorlab node`: seeded garbage bytes, an HTTP request, a frame header
/// far over maximum-frame-size and (on a TLS node) a stranger's TLS handshake. The node closes each connection and
/// keeps serving: it stays alive and a console `status` still answers with the node as the one up member.
/// </summary>
public class HostileBytesTests : IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(1);
    // how long the node may take to drop a hostile connection
    static readonly TimeSpan CloseWithin = TimeSpan.FromSeconds(15);
    readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>What happened to one hostile connection: closed by the node (how) and after how long.</summary>
    sealed record Closed(string How, TimeSpan After);

    [Fact]
    public async Task Garbage_HTTP_and_oversized_frames_leave_the_node_serving()
    {
        var port = ConsoleNodeTests.FreePort();
        using var node = new ActorLabProcess("node", "--port", port.ToString(), "--data-dir", Path.Combine(_dir.Path, "data"), "--slots", "1");
        node.WaitForLine(l => l.StartsWith("control it with", StringComparison.Ordinal), Limit);
        AssertServing(node, port, []);

        var garbage = new byte[64 * 1024];
        new Random(20261202).NextBytes(garbage);
        await AssertClosedAndServing(node, port, [], "garbage", garbage);

        await AssertClosedAndServing(node, port, [], "HTTP", Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"));

        // DotNetty frames are a 4-byte big-endian length, then the payload: claim 1 GiB, far over the 4 MiB limit
        var oversized = new byte[4 + 8 * 1024];
        BinaryPrimitives.WriteInt32BigEndian(oversized, 1 << 30);
        new Random(7).NextBytes(oversized.AsSpan(4));
        await AssertClosedAndServing(node, port, [], "oversized frame", oversized);
        // the node says why it hung up, one line each in its log, and carries on
        var log = File.ReadAllText(Path.Combine(_dir.Path, "data", "logs", "node.log"));
        Assert.Contains("Adjusted frame length exceeds 4194304", log);
    }

    [Fact]
    public async Task A_strangers_TLS_handshake_and_garbage_leave_a_TLS_node_serving()
    {
        var ca = TlsClusterTests.Authority(_dir.Path, "ca");
        var port = ConsoleNodeTests.FreePort();
        using var node = new ActorLabProcess(["node", "--port", port.ToString(), "--data-dir", Path.Combine(_dir.Path, "tls"), "--slots", "1",
            .. TlsClusterTests.Tls(ca, "node-a")]);
        node.WaitForLine(l => l.StartsWith("control it with", StringComparison.Ordinal), Limit);
        string[] console = TlsClusterTests.Tls(ca, "console-c");
        AssertServing(node, port, console);

        // a stranger with no client certificate that trusts any server
        var closed = await Hostile(port, async stream =>
        {
            await using var tls = new SslStream(stream, leaveInnerStreamOpen: true, (_, _, _, _) => true);
            try { await tls.AuthenticateAsClientAsync("127.0.0.1"); }
            catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException) { return new Closed("handshake refused: " + e.GetType().Name, TimeSpan.Zero); }
            // TLS 1.3 finishes the client's side before the server checks the client certificate: the node then hangs up
            return await ReadUntilClosed(tls);
        });
        Assert.True(closed is not null, "the node kept the stranger's TLS connection open");
        Console.WriteLine($"stranger's TLS handshake: closed ({closed.How}) after {closed.After.TotalMilliseconds:F0} ms");
        AssertServing(node, port, console);

        var garbage = new byte[64 * 1024];
        new Random(20261203).NextBytes(garbage);
        await AssertClosedAndServing(node, port, console, "garbage on TLS", garbage);
        Assert.Contains("Mutual TLS required but client did not provide a certificate", node.Output);
    }

    static async Task AssertClosedAndServing(ActorLabProcess node, int port, string[] console, string what, byte[] bytes)
    {
        var closed = await Hostile(port, async stream =>
        {
            try { await stream.WriteAsync(bytes); await stream.FlushAsync(); }
            catch (IOException e) { return new Closed("write refused: " + e.GetType().Name, TimeSpan.Zero); }
            return await ReadUntilClosed(stream);
        });
        Assert.True(closed is not null, $"the node kept the {what} connection open for {CloseWithin}");
        Console.WriteLine($"{what}: closed ({closed.How}) after {closed.After.TotalMilliseconds:F0} ms");
        AssertServing(node, port, console);
    }

    /// <summary>Connects, runs <paramref name="send"/>; null when the node did not close the connection in time.</summary>
    static async Task<Closed?> Hostile(int port, Func<Stream, Task<Closed?>> send)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        await using var stream = client.GetStream();
        var watch = Stopwatch.StartNew();
        var sending = send(stream);
        if (await Task.WhenAny(sending, Task.Delay(CloseWithin)) != sending) return null;
        var closed = await sending;
        return closed is null ? null : closed with { After = watch.Elapsed };
    }

    /// <summary>Reads (discarding any answer) until the node hangs up: end of stream or a reset.</summary>
    static async Task<Closed?> ReadUntilClosed(Stream stream)
    {
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer) > 0) { }
            return new Closed("end of stream", TimeSpan.Zero);
        }
        catch (IOException e) { return new Closed("reset: " + e.GetType().Name, TimeSpan.Zero); }
    }

    /// <summary>The node process is alive, printed no crash, and `console status` names it as the one up member.</summary>
    static void AssertServing(ActorLabProcess node, int port, string[] console)
    {
        Assert.False(node.Exited, "the node exited:\n" + node.Output);
        var (code, output) = ActorLabProcess.Run(Limit, ["console", "--contact", $"127.0.0.1:{port}", .. console, "status", "--json"]);
        Assert.True(code == 0, output + "\n--- node:\n" + node.Output);
        var status = JsonDocument.Parse(output[output.IndexOf('{')..]).RootElement;
        var members = status.GetProperty("members").EnumerateArray().ToList();
        Assert.Single(members);
        Assert.Equal("up", members[0].GetProperty("state").GetString());
        Assert.Contains($"127.0.0.1:{port}", status.GetProperty("coordinator_address").GetString());
        Assert.DoesNotContain("Unhandled exception", node.Output);
        Assert.False(node.Exited, "the node exited:\n" + node.Output);
    }
}
