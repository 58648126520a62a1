namespace ActorLab.Actors.Gateway;

/// <summary>
/// The gateway's bound on the commands it has forwarded to the coordinator and not yet had answered (in-flight
/// asks, `actorlab.gateway.max-in-flight`): <see cref="TryTake"/> before a forward, <see cref="Release"/> when its
/// answer (or its timeout) comes back. Beyond the bound a command is refused at once. Refusals are counted so the
/// gateway can log them at most once per <see cref="LogEvery"/> (a flood must not become a flood of log lines).
/// Pure state of one actor: not thread-safe, needs none.
/// </summary>
public sealed class InFlightBound
{
    public static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(10);

    DateTimeOffset _lastLog = DateTimeOffset.MinValue;
    long _refusedSinceLog;

    public InFlightBound(int max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        Max = max;
    }

    public int Max { get; }
    /// <summary>Forwarded, not yet answered.</summary>
    public int InFlight { get; private set; }
    /// <summary>Refused since the gateway started.</summary>
    public long Refused { get; private set; }

    /// <summary>True and counts one more in flight when under the bound; false (a refusal, counted) at it.</summary>
    public bool TryTake()
    {
        if (InFlight < Max) { InFlight++; return true; }
        Refused++;
        _refusedSinceLog++;
        return false;
    }

    public void Release()
    {
        if (InFlight > 0) InFlight--;
    }

    /// <summary>
    /// After a refusal: the number of refusals to log now (this one and those not logged yet), or 0 when a line was
    /// logged less than <see cref="LogEvery"/> ago.
    /// </summary>
    public long RefusalsToLog(DateTimeOffset now)
    {
        if (_refusedSinceLog == 0 || now - _lastLog < LogEvery) return 0;
        var n = _refusedSinceLog;
        _refusedSinceLog = 0;
        _lastLog = now;
        return n;
    }
}
