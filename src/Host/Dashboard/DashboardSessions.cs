using System.Collections.Concurrent;
using System.Security.Cryptography;
using ActorLab.Actors.Gateway;

namespace ActorLab.Host.Dashboard;

/// <summary>
/// Browsers that entered a token: a random session id (an HttpOnly, SameSite=Strict cookie) for the token it stands
/// for, kept in this node's memory only (a restart asks for the token again). The token never goes back to a browser.
/// A session ends when it has not been used for <see cref="IdleTimeout"/> (12 h) or is older than <see cref="MaxAge"/>
/// (7 days), and at most <see cref="MaxSessions"/> live at once (the least recently used goes first), so neither a
/// forgotten browser nor a flood of sign-ins keeps anything for ever.
/// </summary>
public sealed class DashboardSessions(TimeSpan? idleTimeout = null, TimeSpan? maxAge = null, int maxSessions = 10_000, Func<DateTimeOffset>? clock = null)
{
    public const string Cookie = "actorlab_session";

    sealed record Session(OperatorToken Token, DateTimeOffset Opened, DateTimeOffset LastUsed);

    readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    readonly Func<DateTimeOffset> _now = clock ?? (() => DateTimeOffset.UtcNow);

    public TimeSpan IdleTimeout { get; } = idleTimeout ?? TimeSpan.FromHours(12);
    public TimeSpan MaxAge { get; } = maxAge ?? TimeSpan.FromDays(7);
    public int MaxSessions { get; } = maxSessions;
    public int Count => _sessions.Count;

    public string Open(OperatorToken token)
    {
        var now = _now();
        Sweep(now);
        // full: the least recently used session ends
        while (_sessions.Count >= MaxSessions && _sessions.OrderBy(kv => kv.Value.LastUsed).FirstOrDefault() is { Key: { } oldest })
            _sessions.TryRemove(oldest, out _);
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        _sessions[id] = new Session(token, now, now);
        return id;
    }

    /// <summary>The token of a live session (and the session's use is noted); null for none, an unknown or an ended one.</summary>
    public OperatorToken? Of(string? id)
    {
        if (id == null || !_sessions.TryGetValue(id, out var s)) return null;
        var now = _now();
        if (Ended(s, now))
        {
            _sessions.TryRemove(id, out _);
            return null;
        }
        _sessions[id] = s with { LastUsed = now };
        return s.Token;
    }

    public void Close(string? id)
    {
        if (id != null) _sessions.TryRemove(id, out _);
    }

    bool Ended(Session s, DateTimeOffset now) => now - s.LastUsed > IdleTimeout || now - s.Opened > MaxAge;

    void Sweep(DateTimeOffset now)
    {
        foreach (var (id, s) in _sessions)
            if (Ended(s, now)) _sessions.TryRemove(id, out _);
    }
}
