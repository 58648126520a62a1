using ActorLab.Host.Tests.Infrastructure;
using System.Collections.Concurrent;
using System.Diagnostics;

namespace ActorLab.Host.Tests.Actors;

/// <summary>A real `actorlab` child process whose output lines are collected as they come (so a test can wait for one and kill -9).</summary>
public sealed class ActorLabProcess : IDisposable
{
    readonly Process _p;
    readonly ConcurrentQueue<string> _lines = new();
    readonly SemaphoreSlim _signal = new(0);

    public ActorLabProcess(params string[] args) : this(ActorLabCli.StartInfo(args)) { }

    public ActorLabProcess(ProcessStartInfo start)
    {
        _p = Process.Start(start)!;
        _p.OutputDataReceived += (_, e) => Add(e.Data);
        _p.ErrorDataReceived += (_, e) => Add(e.Data is null ? null : "stderr: " + e.Data);
        _p.BeginOutputReadLine();
        _p.BeginErrorReadLine();
    }

    void Add(string? line)
    {
        if (line == null) return;
        _lines.Enqueue(line);
        _signal.Release();
    }

    public IReadOnlyList<string> Lines => _lines.ToArray();
    public string Output => string.Join("\n", _lines);
    public bool Exited => _p.HasExited;
    public int ExitCode => _p.ExitCode;
    public int Pid => _p.Id;

    /// <summary>Waits until a line matches (returns it) or the process exits or time runs out (throws).</summary>
    public string WaitForLine(Func<string, bool> match, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var hit = _lines.FirstOrDefault(match);
            if (hit != null) return hit;
            if (_p.HasExited && _p.WaitForExit(1000) && _lines.FirstOrDefault(match) is null)
                throw new InvalidOperationException($"actorlab exited ({_p.ExitCode}) before the expected line:\n{Output}");
            var left = until - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"no expected line within {timeout}:\n{Output}");
            _signal.Wait(TimeSpan.FromMilliseconds(Math.Min(200, left.TotalMilliseconds)));
        }
    }

    /// <summary>kill -9: no shutdown hooks, no flushing, exactly like a crash.</summary>
    public void Kill9()
    {
        if (!_p.HasExited) _p.Kill(entireProcessTree: true);
        _p.WaitForExit(10_000);
    }

    public int WaitForExit(TimeSpan timeout)
    {
        if (!_p.WaitForExit(timeout))
        {
            Kill9();
            throw new TimeoutException($"actorlab did not finish within {timeout}:\n{Output}");
        }
        _p.WaitForExit(); // drain the output
        return _p.ExitCode;
    }

    public void Dispose()
    {
        Kill9();
        _p.Dispose();
    }

    public static (int ExitCode, string Output) Run(TimeSpan timeout, params string[] args)
    {
        using var p = new ActorLabProcess(args);
        var code = p.WaitForExit(timeout);
        return (code, p.Output);
    }
}
