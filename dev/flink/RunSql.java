// Runs a Flink SQL script (what `eventreplay export flink-sql` prints) on a local MiniCluster and
// waits for its INSERT to finish (the exported source is bounded). Usage: RunSql SCRIPT.sql
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;

public final class RunSql {
    private static final java.util.regex.Pattern SET =
            java.util.regex.Pattern.compile("(?i)SET\\s+'([^']+)'\\s*=\\s*'([^']*)'");

    public static void main(String[] args) throws Exception {
        String script = Files.readAllLines(Path.of(args[0])).stream()
                .filter(line -> !line.stripLeading().startsWith("--"))
                .collect(Collectors.joining("\n"));
        String[] statements = script.split(";\\s*(\\n|$)");
        // The runtime mode is fixed when the environment is made (the SQL client's SET does the same).
        boolean batch = java.util.Arrays.stream(statements)
                .map(s -> SET.matcher(s.strip()))
                .anyMatch(m -> m.matches() && m.group(1).equals("execution.runtime-mode") && m.group(2).equals("batch"));
        TableEnvironment env = TableEnvironment.create(
                batch ? EnvironmentSettings.inBatchMode() : EnvironmentSettings.inStreamingMode());
        env.getConfig().set("parallelism.default", "1");
        TableResult last = null;
        for (String statement : statements) {
            String sql = statement.strip();
            java.util.regex.Matcher set = SET.matcher(sql);
            if (set.matches() && set.group(1).equals("execution.runtime-mode")) {
                continue;  // already applied above
            } else if (set.matches()) {  // the SQL client's SET; TableEnvironment takes it as configuration
                env.getConfig().set(set.group(1), set.group(2));
            } else if (!sql.isEmpty()) {
                last = env.executeSql(sql);
            }
        }
        if (last != null) {
            last.await();
        }
    }
}
