// Kafka's own Java producer, for tests that compare partitioning with it: reads `key<TAB>value`
// lines from stdin, sends each with the default partitioner and prints `key<TAB>partition`.
// Run as a single-file program: java -cp '<kafka libs>/*' KeyedProducer.java BOOTSTRAP TOPIC
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

public final class KeyedProducer {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
            String line;
            while ((line = in.readLine()) != null) {
                String[] parts = line.split("\t", 2);
                RecordMetadata sent = producer.send(new ProducerRecord<>(args[1], parts[0], parts[1])).get();
                System.out.println(parts[0] + "\t" + sent.partition());
            }
        }
    }
}
