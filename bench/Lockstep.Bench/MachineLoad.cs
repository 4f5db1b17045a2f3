using System.Diagnostics;
using System.Globalization;

namespace Lockstep.Bench;

/// <summary>
/// How busy the (shared) machine was during a scenario: all cores from /proc/stat, and this process's share, so the rest
/// is what other processes took from the benchmark.
/// </summary>
internal sealed class MachineLoad
{
    private readonly (long Busy, long Total) _start = ReadStat();
    private readonly TimeSpan _cpuStart = ProcessMemory.CpuTime();
    private readonly long _wallStart = Stopwatch.GetTimestamp();

    /// <summary>"machine 1.7 of 2 cores busy, this process 1.1": averages since construction.</summary>
    public string Describe()
    {
        var (busy, total) = ReadStat();
        var seconds = Stopwatch.GetElapsedTime(_wallStart).TotalSeconds;
        var cores = Environment.ProcessorCount;
        var machine = total > _start.Total ? (double)(busy - _start.Busy) / (total - _start.Total) * cores : double.NaN;
        var mine = (ProcessMemory.CpuTime() - _cpuStart).TotalSeconds / Math.Max(seconds, 1e-3);
        return string.Create(CultureInfo.InvariantCulture, $"machine {machine:F1} of {cores} cores busy, this process {mine:F1}");
    }

    private static (long Busy, long Total) ReadStat()
    {
        try
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Take(8).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            var idle = fields[3] + fields[4];
            var total = fields.Sum();
            return (total - idle, total);
        }
        catch (IOException)
        {
            return (0, 0);
        }
    }
}
