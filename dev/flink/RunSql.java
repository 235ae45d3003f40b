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
        TableEnvironment env = TableEnvironment.create(EnvironmentSettings.inStreamingMode());
        env.getConfig().set("parallelism.default", "1");
        TableResult last = null;
        for (String statement : script.split(";\\s*(\\n|$)")) {
            String sql = statement.strip();
            java.util.regex.Matcher set = SET.matcher(sql);
            if (set.matches()) {  // the SQL client's SET; TableEnvironment takes it as configuration
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
