using System.Collections.Concurrent;
using System.Security.Cryptography;
using ActorLab.Actors.Gateway;

namespace ActorLab.Host.Dashboard;

/// <summary>
/// Browsers that entered a token: a random session id (an HttpOnly, SameSite=Strict cookie) for the token it stands
/// for, kept in this node's memory only (a restart asks for the token again). The token never goes back to a browser.
/// </summary>
public sealed class DashboardSessions
{
    public const string Cookie = "actorlab_session";
    readonly ConcurrentDictionary<string, OperatorToken> _tokens = new(StringComparer.Ordinal);

    public string Open(OperatorToken token)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        _tokens[id] = token;
        return id;
    }

    public OperatorToken? Of(string? id) => id != null && _tokens.TryGetValue(id, out var t) ? t : null;

    public void Close(string? id)
    {
        if (id != null) _tokens.TryRemove(id, out _);
    }
}
