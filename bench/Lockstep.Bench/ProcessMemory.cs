using System.Globalization;

namespace Lockstep.Bench;

/// <summary>Resident memory of this process from /proc/self/status: now (VmRSS) and the peak so far (VmHWM), in bytes; and its CPU time.</summary>
internal static class ProcessMemory
{
    public static long Rss() => Read("VmRSS:") ?? Environment.WorkingSet;

    public static long Peak() => Read("VmHWM:") ?? Environment.WorkingSet;

    private static long? Read(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith(field, StringComparison.Ordinal)) continue;
                var kb = line[field.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException)
        {
            // Not Linux: fall back to the runtime's working set.
        }
        return null;
    }

    /// <summary>CPU time this process has used so far, all threads, user and kernel.</summary>
    public static TimeSpan CpuTime()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>Microseconds of CPU per item between two <see cref="CpuTime"/> readings.</summary>
    public static double CpuMicros(TimeSpan from, long items) => (CpuTime() - from).TotalMicroseconds / Math.Max(items, 1);

    public static string Mb(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("F0", CultureInfo.InvariantCulture) + " MB";
}
