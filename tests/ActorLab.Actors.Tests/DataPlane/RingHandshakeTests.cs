using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorLab.Actors.Config;
using ActorLab.Actors.DataPlane;

namespace ActorLab.Actors.Tests.DataPlane;

public class RingHandshakeTests
{
    static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 30_000)]
    public async Task A_connector_without_the_lease_secret_is_refused_at_once_for_a_bad_MAC()
    {
        using var ring = TestRing.Prepare(2);
        var forged = ring.Spec with { Secret = RingSpec.NewSecret() };
        var sw = Stopwatch.StartNew();
        var honest = ring.Listeners[0].JoinAsync(ring.Spec, 0, Long, CancellationToken.None);
        var forger = ring.Listeners[1].JoinAsync(forged, 1, Long, CancellationToken.None);
        // each side's connector is refused by the other: neither holds the other's secret
        var e = await Assert.ThrowsAsync<DataPlaneRefusedException>(() => forger);
        Assert.Contains("bad MAC", e.Message);
        Assert.Contains("node-A", e.Message);
        var e0 = await Assert.ThrowsAsync<DataPlaneRefusedException>(() => honest);
        Assert.Contains("bad MAC", e0.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }

    [Fact(Timeout = 30_000)]
    public async Task A_connector_for_an_older_epoch_is_refused_as_stale()
    {
        using var ring = TestRing.Prepare(2);
        var current = ring.Listeners[1].JoinAsync(ring.Spec with { Epoch = 2 }, 1, Long, CancellationToken.None);
        await Task.Delay(100);
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<DataPlaneRefusedException>(() => ring.Listeners[0].JoinAsync(ring.Spec with { Epoch = 1 }, 0, Long, CancellationToken.None));
        Assert.Contains("stale epoch 1, current is 2", e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
        ring.Listeners[1].Retire("run-a", 2);
        await Assert.ThrowsAsync<DataPlaneRefusedException>(() => current);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_peer_that_never_registers_the_run_is_retried_until_the_connect_timeout()
    {
        using var ring = TestRing.Prepare(2);
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<DataPlaneRefusedException>(() => ring.Listeners[0].JoinAsync(ring.Spec, 0, TimeSpan.FromSeconds(1), CancellationToken.None));
        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
        Assert.Contains("could not join ring rank 1 (node node-B)", e.Message);
        Assert.Contains("not registered", e.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_peer_that_registers_late_is_joined()
    {
        using var ring = TestRing.Prepare(2);
        var early = ring.Listeners[0].JoinAsync(ring.Spec, 0, Long, CancellationToken.None);
        await Task.Delay(700);
        var late = ring.Listeners[1].JoinAsync(ring.Spec, 1, Long, CancellationToken.None);
        using var a = await early;
        using var b = await late;
        var x = new[] { 1f, 2f };
        var y = new[] { 10f, 20f };
        await Task.WhenAll(TestRing.OnThread(() => a.AllReduceSum(x, 2, default, TestRing.Deadline)), TestRing.OnThread(() => b.AllReduceSum(y, 2, default, TestRing.Deadline)));
        Assert.Equal([11f, 22f], x);
        Assert.Equal([11f, 22f], y);
    }

    [Fact(Timeout = 60_000)]
    public async Task Garbage_an_oversized_run_id_and_a_silent_connector_leave_the_listener_serving()
    {
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var ring = TestRing.Prepare(2);
        using var watched = new DataPlaneListener(IPAddress.Loopback, 0, log: log.Enqueue);
        var port = watched.Port;

        // a silent connector: holds its connection open and says nothing
        using var silent = new TcpClient();
        await silent.ConnectAsync(IPAddress.Loopback, port);

        // random bytes after the listener's hello
        using (var garbage = new TcpClient())
        {
            await garbage.ConnectAsync(IPAddress.Loopback, port);
            var s = garbage.GetStream();
            await s.ReadExactlyAsync(new byte[21]);
            await s.WriteAsync(RandomNumberGenerator.GetBytes(4096));
            Assert.Equal(2, await ReadAnswer(s)); // refused
        }

        // a run id of 60,000 bytes: refused from its length alone, the socket closed
        using (var huge = new TcpClient())
        {
            await huge.ConnectAsync(IPAddress.Loopback, port);
            var s = huge.GetStream();
            await s.ReadExactlyAsync(new byte[21]);
            var head = new byte[6];
            "ALDP"u8.CopyTo(head);
            BinaryPrimitives.WriteUInt16LittleEndian(head.AsSpan(4), 60_000);
            await s.WriteAsync(head);
            Assert.Equal(2, await ReadAnswer(s));
            var reasonLength = new byte[2];
            await s.ReadExactlyAsync(reasonLength);
            var reason = new byte[BinaryPrimitives.ReadUInt16LittleEndian(reasonLength)];
            await s.ReadExactlyAsync(reason);
            Assert.Contains("512", System.Text.Encoding.UTF8.GetString(reason));
            Assert.Equal(0, await s.ReadAsync(new byte[1]).AsTask().WaitAsync(TimeSpan.FromSeconds(5))); // closed
        }

        // an HTTP request
        using (var http = new TcpClient())
        {
            await http.ConnectAsync(IPAddress.Loopback, port);
            await http.GetStream().WriteAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        }

        // the listener still forms a ring, with the silent connector still connected
        var spec = ring.Spec with { Members = [ring.Spec.Members[0], new RingMember("node-W", "127.0.0.1", port)] };
        var joins = new[] { ring.Listeners[0].JoinAsync(spec, 0, Long, CancellationToken.None), watched.JoinAsync(spec, 1, Long, CancellationToken.None) };
        var members = await Task.WhenAll(joins);
        var x = new[] { 1f };
        var y = new[] { 2f };
        await Task.WhenAll(TestRing.OnThread(() => members[0].AllReduceSum(x, 1, default, TestRing.Deadline)), TestRing.OnThread(() => members[1].AllReduceSum(y, 1, default, TestRing.Deadline)));
        Assert.Equal(3f, x[0]);
        Assert.Equal(3f, y[0]);
        foreach (var m in members) m.Dispose();
        Assert.Contains(log, l => l.Contains("512"));
    }

    static async Task<int> ReadAnswer(NetworkStream s)
    {
        var b = new byte[1];
        await s.ReadExactlyAsync(b).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        return b[0];
    }

    [Fact(Timeout = 30_000)]
    public async Task A_failed_epoch_is_not_joined_again_on_the_same_node()
    {
        using var ring = TestRing.Prepare(2);
        await Assert.ThrowsAsync<DataPlaneRefusedException>(() => ring.Listeners[0].JoinAsync(ring.Spec, 0, TimeSpan.FromMilliseconds(300), CancellationToken.None));
        var e = await Assert.ThrowsAsync<DataPlaneRefusedException>(() => ring.Listeners[0].JoinAsync(ring.Spec, 0, Long, CancellationToken.None));
        Assert.Contains("already failed on this node", e.Message);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_flood_of_silent_connections_is_capped_and_the_listener_still_serves()
    {
        using var ring = TestRing.Prepare(2);
        var flood = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 100; i++)
            {
                var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, ring.Listeners[1].Port);
                flood.Add(c);
            }
            // past the cap of 64 the listener closes new connections at once; those in their handshake wait (10 s at most)
            // closed: readable with nothing to read (EOF); in their handshake: the listener's 21-byte hello waiting
            int closed = 0, greeted = 0;
            for (var until = DateTime.UtcNow.AddSeconds(5); closed + greeted < flood.Count && DateTime.UtcNow < until; await Task.Delay(50))
            {
                closed = flood.Count(c => c.Client.Poll(0, SelectMode.SelectRead) && c.Client.Available == 0);
                greeted = flood.Count(c => c.Client.Available == 21);
            }
            Assert.Equal(64, greeted);
            Assert.Equal(36, closed);
        }
        finally
        {
            foreach (var c in flood) c.Dispose();
        }
        // the flood gone, its slots are free again
        await ring.Join(ring.Spec);
        var buffers = new[] { new[] { 1f }, new[] { 2f } };
        await ring.AllReduce(buffers, 1);
        Assert.Equal(3f, buffers[0][0]);
    }

    [Fact(Timeout = 30_000)]
    public async Task Retire_aborts_the_epoch_and_refuses_it_from_then_on()
    {
        using var ring = await TestRing.Start(2);
        ring.Listeners[0].Retire("run-a", 1);
        var e = Assert.Throws<RingAbortedException>(() => ring.Members[0].AllReduceSum(new float[4], 4, default, TestRing.Deadline));
        Assert.Contains("epoch 1 of run run-a was retired", e.Message);
        // the peer sees its neighbour close, at once rather than at its deadline
        var sw = Stopwatch.StartNew();
        Assert.Throws<RingAbortedException>(() => ring.Members[1].AllReduceSum(new float[4], 4, default, TestRing.Deadline));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
        var again = await Assert.ThrowsAsync<DataPlaneRefusedException>(() => ring.Listeners[0].JoinAsync(ring.Spec, 0, Long, CancellationToken.None));
        Assert.Contains("retired", again.Message);
        // a new lease forms a new ring
        await ring.Join(ring.Spec with { Epoch = 2, Secret = RingSpec.NewSecret() });
        var buffers = new[] { new[] { 1f }, new[] { 2f } };
        await ring.AllReduce(buffers, 1);
        Assert.Equal(3f, buffers[1][0]);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_newer_epoch_aborts_the_older_ones_ring()
    {
        using var ring = await TestRing.Start(2);
        var old = ring.Members;
        await ring.Join(ring.Spec with { Epoch = 2, Secret = RingSpec.NewSecret() });
        var e = Assert.Throws<RingAbortedException>(() => old[0].AllReduceSum(new float[4], 4, default, TestRing.Deadline));
        Assert.Contains("superseded by epoch 2", e.Message);
        var buffers = new[] { new[] { 1f, 1f }, new[] { 2f, 2f } };
        await ring.AllReduce(buffers, 2);
        Assert.Equal([3f, 3f], buffers[0]);
        foreach (var m in old) m.Dispose();
    }

    [Fact(Timeout = 60_000)]
    public async Task Over_TLS_a_ring_sums_and_a_certificate_of_another_CA_is_refused()
    {
        var (ca, leaves) = Certificates(3);
        var (otherCa, otherLeaves) = Certificates(1);
        using var ring = await TestRing.Start(3, tls: i => ClusterTls.FromCertificates(ca, leaves[i]));
        var buffers = TestRing.RandomBuffers(3, 300_001, seed: 3);
        var expected = Enumerable.Range(0, 300_001).Select(j => buffers.Sum(b => (double)b[j])).ToArray();
        await ring.AllReduce(buffers, 300_001);
        for (var j = 0; j < expected.Length; j += 101) Assert.Equal(expected[j], buffers[2][j], 1e-4);
        Assert.Equal(TestRing.Bits(buffers[0], 300_001), TestRing.Bits(buffers[2], 300_001));

        // a stranger: right ring secret even, but its certificate is of another cluster
        using var good = new DataPlaneListener(IPAddress.Loopback, 0, ClusterTls.FromCertificates(ca, leaves[0]));
        using var stranger = new DataPlaneListener(IPAddress.Loopback, 0, ClusterTls.FromCertificates(otherCa, otherLeaves[0]));
        var spec = new RingSpec("run-tls", 1, [new RingMember("good", "127.0.0.1", good.Port), new RingMember("stranger", "127.0.0.1", stranger.Port)], RingSpec.NewSecret());
        var joins = new[] { good.JoinAsync(spec, 0, TimeSpan.FromSeconds(2), CancellationToken.None), stranger.JoinAsync(spec, 1, TimeSpan.FromSeconds(2), CancellationToken.None) };
        foreach (var j in joins) await Assert.ThrowsAsync<DataPlaneRefusedException>(() => j);
    }

    /// <summary>A CA and leaves made the way `actorlab certs` makes them (ECDSA P-256, client and server use).</summary>
    static (X509Certificate2 Ca, X509Certificate2[] Leaves) Certificates(int n)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=test ring CA " + Guid.NewGuid().ToString("N")[..6], caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        var leaves = Enumerable.Range(0, n).Select(i =>
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN=node{i}, OU=actorlab-node", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
            using var signed = request.Create(ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(16));
            using var withKey = signed.CopyWithPrivateKey(key);
            // through PKCS#12, as ClusterTls.Load reads a node's certificate: SslStream wants a key it can use on its own
            return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12, "p"), "p", X509KeyStorageFlags.EphemeralKeySet);
        }).ToArray();
        var caPublic = X509CertificateLoader.LoadCertificate(ca.Export(X509ContentType.Cert));
        return (caPublic, leaves);
    }
}
