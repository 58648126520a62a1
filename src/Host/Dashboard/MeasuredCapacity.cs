using System.Collections.Concurrent;
using ActorLab.Actors.Control;
using ActorLab.Host.Cli;

namespace ActorLab.Host.Dashboard;

/// <summary>
/// A sweep's measured capacity per run: the newest capacity_final_*.csv of its results folder (what the last
/// measurement wrote), read again only when that file changes.
/// </summary>
public sealed class MeasuredCapacity
{
    readonly ConcurrentDictionary<string, (string File, DateTime Written, IReadOnlyDictionary<string, (double, double)> ByRun)> _bySweep = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, (double Capacity, double BitsPerParam)> Of(SweepSummary sweep)
    {
        var empty = new Dictionary<string, (double, double)>();
        if (sweep.ResultsDir is not { } dir || !Directory.Exists(dir)) return empty;
        var newest = Directory.GetFiles(dir, "capacity_final_*.csv").Select(f => (File: f, Written: File.GetLastWriteTimeUtc(f)))
            .OrderByDescending(x => x.Written).FirstOrDefault();
        if (newest.File is null) return empty;
        if (_bySweep.TryGetValue(sweep.Name, out var known) && known.File == newest.File && known.Written == newest.Written) return known.ByRun;
        try
        {
            var byRun = CapacitySummary.ByRun(newest.File);
            _bySweep[sweep.Name] = (newest.File, newest.Written, byRun);
            return byRun;
        }
        catch (IOException) { return empty; } // being replaced: next time
    }
}
